"""OpenCV's Viola-Jones Haar cascade: the classic baseline (frontal faces only)."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

from fer_core.detection.base import Detection, DetectorUnavailableError, check_image
from fer_core.errors import ConfigError
from fer_core.preprocessing import to_grayscale

CASCADE_FILE = "haarcascade_frontalface_default.xml"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"  # the cascade ships with fer_core
# OpenCV 5 removed cv2.CascadeClassifier (checked with opencv-python-headless 5.0.0.93); the rest
# of fer_core runs on 4 or 5, so only this baseline needs the older major version.
OPENCV_NEEDED = "OpenCV 4 (pip install 'opencv-python-headless>=4.8,<5', or the fer-core[haar] extra)"


def cascade_path(folder: Path | None = None) -> Path:
    """The cascade XML shipped in the package."""
    folder = folder or WEIGHTS_DIR
    path = folder / CASCADE_FILE
    if not path.is_file():
        raise DetectorUnavailableError(
            f"{path} is missing: this fer_core install is incomplete; reinstall it "
            f"(pip install --force-reinstall fer-core, or restore the file from the repository)"
        )
    return path


def _cascade_classifier() -> type:
    cls = getattr(cv2, "CascadeClassifier", None)
    if cls is None:
        raise DetectorUnavailableError(
            f"the Haar detector needs cv2.CascadeClassifier, which this OpenCV ({cv2.__version__}) "
            f"does not have; install {OPENCV_NEEDED}, or choose another detector"
        )
    return cls


class HaarDetector:
    """Frontal-face Haar cascade on histogram-equalised grey input.

    The cascade has no calibrated confidence; the score is the last stage's level weight squashed
    into (0, 1) with a logistic, so larger means more face-like and ordering (best first) is
    meaningful. `min_score` filters on that value (default 0: keep every cascade hit)."""

    def __init__(
        self,
        *,
        min_score: float | None = None,
        min_size: int = 40,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        name: str = "haar",
        cascade_folder: Path | None = None,
    ) -> None:
        if min_score is not None and not 0.0 <= min_score < 1.0:
            raise ConfigError(f"min_score must lie in [0, 1), got {min_score}")
        if min_size < 1 or scale_factor <= 1.0 or min_neighbors < 0:
            raise ValueError("need min_size >= 1, scale_factor > 1 and min_neighbors >= 0")
        classifier = _cascade_classifier()
        path = cascade_path(cascade_folder)
        unreadable = f"OpenCV could not load {path}; restore it (reinstall fer-core)"
        try:
            self._cascade = classifier(str(path))
        except (cv2.error, SystemError) as exc:  # a corrupt XML raises instead of loading empty
            raise DetectorUnavailableError(unreadable) from exc
        if self._cascade.empty():
            raise DetectorUnavailableError(unreadable)
        self.name = name
        self.min_score = float(min_score or 0.0)
        self.min_size = min_size
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self._lock = threading.Lock()  # CascadeClassifier is not documented as thread-safe

    def detect(self, image: np.ndarray) -> list[Detection]:
        grey = cv2.equalizeHist(np.ascontiguousarray(to_grayscale(check_image(image))))
        if min(grey.shape) < self.min_size:
            return []
        with self._lock:
            boxes, _levels, weights = self._cascade.detectMultiScale3(
                grey,
                scaleFactor=self.scale_factor,
                minNeighbors=self.min_neighbors,
                minSize=(self.min_size, self.min_size),
                outputRejectLevels=True,
            )
        detections = []
        for (x, y, w, h), weight in zip(np.asarray(boxes).reshape(-1, 4), np.asarray(weights).reshape(-1)):
            score = float(1.0 / (1.0 + np.exp(-float(weight))))
            if score >= self.min_score:
                detections.append(Detection((int(x), int(y), int(w), int(h)), score))
        return sorted(detections, key=lambda d: d.score, reverse=True)
