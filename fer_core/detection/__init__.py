"""Face detectors behind one interface, chosen by name.

    detector = create_detector()          # the default (see DEFAULT_DETECTOR)
    faces = detector.detect(rgb_image)    # list[Detection], best first

The default and the ordering of DETECTOR_NAMES come from `python -m bench.studies.detectors`
(results in bench/results/detectors.md). Model runtimes are imported only when a detector is
created, so importing this package stays cheap.
"""

from __future__ import annotations

from fer_core.detection.base import Detection, DetectorUnavailableError, FaceDetector
from fer_core.errors import ConfigError

# default first; see bench/results/detectors.md for how each one measures
DETECTOR_NAMES: tuple[str, ...] = ("blazeface", "blazeface-tiled", "blazeface-full", "blazeface-short", "haar")
DEFAULT_DETECTOR = DETECTOR_NAMES[0]

DETECTOR_DESCRIPTIONS: dict[str, str] = {
    "blazeface": "BlazeFace full range plus short range for close faces, a zoomed second look at faint "
                 "small ones: fast, the default",
    "blazeface-tiled": "blazeface plus four zoomed-in tiles: finds smaller faces in big photos, ~4x slower",
    "blazeface-full": "MediaPipe BlazeFace full range (192 px input) alone",
    "blazeface-short": "MediaPipe BlazeFace short range (128 px input) alone: close faces only, fastest",
    "haar": "OpenCV Haar cascade: classic frontal-face baseline, slow, more false faces",
}

# Score thresholds per BlazeFace model. The short-range model, made for faces near the camera,
# fires on textures in wide scenes below ~0.7, so when it only backs up the full-range model for
# faces filling the frame it needs a stricter threshold (bench/studies/detectors.py measured both).
_COMBINED = {"full": 0.5, "short": 0.75}
# name: (models and thresholds, tiles, second look). The second look (zoomed re-check of weak,
# small full-range candidates, fer_core/detection/blazeface.py) is ours; the single-model
# detectors stay MediaPipe's models as they are.
_BLAZEFACE: dict[str, tuple[dict[str, float] | tuple[str, ...], bool, bool]] = {
    "blazeface": (_COMBINED, False, True),
    "blazeface-tiled": (_COMBINED, True, True),
    "blazeface-full": (("full",), False, False),
    "blazeface-short": (("short",), False, False),
}


def create_detector(name: str = DEFAULT_DETECTOR, *, min_score: float | None = None) -> FaceDetector:
    """A ready detector. `min_score` overrides the detector's own confidence threshold.

    Raises ValueError for an unknown name and DetectorUnavailableError when the detector's model
    files or runtime are missing (the message says what to install)."""
    if name in _BLAZEFACE:
        from fer_core.detection.blazeface import BlazeFaceDetector

        models, tiles, second_look = _BLAZEFACE[name]
        return BlazeFaceDetector(models, min_score=min_score, tiles=tiles, second_look=second_look, name=name)
    if name == "haar":
        from fer_core.detection.haar import HaarDetector

        return HaarDetector(min_score=min_score)
    raise ConfigError(f"unknown face detector {name!r}; choose one of: {', '.join(DETECTOR_NAMES)}")


__all__ = [
    "DEFAULT_DETECTOR",
    "DETECTOR_DESCRIPTIONS",
    "DETECTOR_NAMES",
    "Detection",
    "DetectorUnavailableError",
    "FaceDetector",
    "create_detector",
]
