"""Face detectors behind one interface, chosen by name.

    detector = create_detector()          # the default (see DEFAULT_DETECTOR)
    faces = detector.detect(rgb_image)    # list[Detection], best first

The default and the ordering of DETECTOR_NAMES come from `python -m bench.detectors`
(results in bench/results/detectors.md). Model runtimes are imported only when a detector is
created, so importing this package stays cheap.
"""

from __future__ import annotations

from fer_core.detection.base import Detection, DetectorUnavailableError, FaceDetector

# default first; see bench/results/detectors.md for how each one measures
DETECTOR_NAMES: tuple[str, ...] = ("blazeface-full", "blazeface-short", "blazeface-both", "haar")
DEFAULT_DETECTOR = DETECTOR_NAMES[0]

DETECTOR_DESCRIPTIONS: dict[str, str] = {
    "blazeface-full": "MediaPipe BlazeFace full range (192 px input): near and far faces",
    "blazeface-short": "MediaPipe BlazeFace short range (128 px input): faces near the camera, fastest",
    "blazeface-both": "both BlazeFace models, results merged: slowest",
    "haar": "OpenCV Haar cascade: classic frontal-face baseline",
}

_BLAZEFACE_MODELS: dict[str, tuple[str, ...]] = {
    "blazeface-full": ("full",),
    "blazeface-short": ("short",),
    "blazeface-both": ("short", "full"),
}


def create_detector(name: str = DEFAULT_DETECTOR, *, min_score: float | None = None) -> FaceDetector:
    """A ready detector. `min_score` overrides the detector's own confidence threshold.

    Raises ValueError for an unknown name and DetectorUnavailableError when the detector's model
    files or runtime are missing (the message says what to install)."""
    if name in _BLAZEFACE_MODELS:
        from fer_core.detection.blazeface import BlazeFaceDetector

        return BlazeFaceDetector(_BLAZEFACE_MODELS[name], min_score=min_score, name=name)
    if name == "haar":
        from fer_core.detection.haar import HaarDetector

        return HaarDetector(min_score=min_score)
    raise ValueError(f"unknown face detector {name!r}; choose one of: {', '.join(DETECTOR_NAMES)}")


__all__ = [
    "DEFAULT_DETECTOR",
    "DETECTOR_DESCRIPTIONS",
    "DETECTOR_NAMES",
    "Detection",
    "DetectorUnavailableError",
    "FaceDetector",
    "create_detector",
]
