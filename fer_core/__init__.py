"""fer_core: face detection, facial-expression classification and the frame pipeline under the
app. Pure library: never imports Streamlit, and its inference path never imports TensorFlow
(LiteRT runs the models; see docs/dependencies.md).

    import fer_core
    for face in fer_core.analyze("photo.jpg"):
        print(face.face_id, face.emotion, face.confidence, face.box)

The names below load on first use, so `import fer_core` (and the command line's start) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

_LAZY = {
    "analyze": "fer_core.api",
    "default_analyzer": "fer_core.api",
    "FaceAnalyzer": "fer_core.pipeline",
    "FaceResult": "fer_core.pipeline",
    "StreamAnalyzer": "fer_core.pipeline",
    "EMOTIONS": "fer_core.labels",
    "ImageLoadError": "fer_core.image_io",
    "load_image": "fer_core.image_io",
    "create_detector": "fer_core.detection",
    "load_model": "fer_core.model_zoo",
}

if TYPE_CHECKING:
    from fer_core.api import analyze, default_analyzer
    from fer_core.detection import create_detector
    from fer_core.image_io import ImageLoadError, load_image
    from fer_core.labels import EMOTIONS
    from fer_core.model_zoo import load_model
    from fer_core.pipeline import FaceAnalyzer, FaceResult, StreamAnalyzer


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fer_core' has no attribute {name!r}")


__all__ = [
    "EMOTIONS",
    "FaceAnalyzer",
    "FaceResult",
    "ImageLoadError",
    "StreamAnalyzer",
    "__version__",
    "analyze",
    "create_detector",
    "default_analyzer",
    "load_image",
    "load_model",
]
