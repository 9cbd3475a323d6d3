"""One call from an image to its faces: `fer_core.analyze("photo.jpg")`.

The analyzer behind it (default detector, default model with flip TTA where the app uses it,
float runtime) is built on first use and kept for later calls, so only the first call pays for
loading the models.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

from fer_core.image_io import ImageSource, load_image
from fer_core.pipeline import FaceAnalyzer, FaceResult

_build_lock = threading.Lock()


@lru_cache(maxsize=4)
def _cached_analyzer(model: str | None, detector: str | None, flip_tta: bool | None) -> FaceAnalyzer:
    return FaceAnalyzer.default(model=model, detector=detector, flip_tta=flip_tta)


def default_analyzer(model: str | None = None, detector: str | None = None,
                     flip_tta: bool | None = None) -> FaceAnalyzer:
    """The shared analyzer for (`model`, `detector`, `flip_tta`); None means the shipped
    default (flip TTA: as the app runs the default model)."""
    with _build_lock:  # two threads calling first at once build it once
        return _cached_analyzer(model, detector, flip_tta)


def analyze(image: ImageSource | np.ndarray, *, model: str | None = None,
            detector: str | None = None, flip_tta: bool | None = None) -> list[FaceResult]:
    """Every face in `image` with its 7 emotion probabilities, numbered left to right.
    `flip_tta` True also classifies each face's mirror image and averages the two (twice the
    work); None follows the app's choice for the default model.

    `image` is a path, encoded file bytes, a binary file object, or an RGB uint8 array
    (H, W, 3); a PIL image works through `numpy.asarray(pil_image.convert("RGB"))`. Unreadable
    files raise `fer_core.image_io.ImageLoadError` with a one-sentence reason."""
    pixels = image if isinstance(image, np.ndarray) else load_image(image)
    return default_analyzer(model, detector, flip_tta).analyze(pixels)
