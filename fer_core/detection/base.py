"""The interface every face detector implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from fer_core.errors import FerError, UnusableImageError

# Below this many pixels on a side an image cannot show a face a detector could find; such
# input is a caller's mistake (an empty crop, a wrong axis order), so it is refused loudly.
MIN_IMAGE_SIDE = 8


class DetectorUnavailableError(FerError, RuntimeError):
    """A detector's model file or runtime is missing; the message says how to fix it."""


@dataclass(frozen=True)
class Detection:
    """One face in image pixel coordinates."""

    box: tuple[int, int, int, int]  # x, y, width, height
    score: float  # detector confidence in [0, 1] (1.0 for detectors without a score)
    # (K, 2) float32 x, y points where the detector gives them (BlazeFace: right eye, left eye,
    # nose tip, mouth, right ear tragion, left ear tragion), else None.
    landmarks: np.ndarray | None = field(default=None, compare=False)


@runtime_checkable
class FaceDetector(Protocol):
    name: str
    min_score: float

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an RGB (H, W, 3) or grey (H, W) uint8 image, best first. A detector may also
        offer `detect_frame(image)`, a cheaper pass for frames of a stream (FaceAnalyzer.detect
        uses it for them)."""
        ...


def check_image(image: object) -> np.ndarray:
    """The image every detector accepts: a uint8 grey (H, W), (H, W, 1), RGB or RGBA array with
    sides of at least MIN_IMAGE_SIDE pixels, returned C-contiguous (OpenCV needs that).

    Raises TypeError for a non-array and UnusableImageError (a ValueError), saying what was wrong, for anything else."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"expected a numpy image array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise UnusableImageError(f"expected a uint8 image (0-255), got dtype {image.dtype}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4))):
        raise UnusableImageError(f"expected a grey (H, W) or RGB/RGBA (H, W, 3|4) image, got shape {image.shape}")
    if min(image.shape[:2]) < MIN_IMAGE_SIDE:
        raise UnusableImageError(
            f"image of {image.shape[1]}x{image.shape[0]} px is too small to hold a face; "
            f"need at least {MIN_IMAGE_SIDE} px per side"
        )
    return np.ascontiguousarray(image)
