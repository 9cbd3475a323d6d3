"""OpenCV's Viola-Jones Haar cascade: the classic baseline (frontal faces only)."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

from fer_core.detection.base import Detection, DetectorUnavailableError, check_image
from fer_core.preprocessing import to_grayscale

CASCADE_FILE = "haarcascade_frontalface_default.xml"
OPENCV_PIN = "opencv-python-headless<5 (the project pins 4.14.0.94)"


def cascade_path() -> Path:
    """The cascade XML that opencv-python 4.x ships; opencv 5.x dropped `cv2.data`."""
    data = getattr(cv2, "data", None)
    folder = getattr(data, "haarcascades", None)
    if not folder:
        raise DetectorUnavailableError(
            f"this OpenCV ({cv2.__version__}) has no cv2.data cascades; install {OPENCV_PIN}"
        )
    path = Path(folder) / CASCADE_FILE
    if not path.is_file():
        raise DetectorUnavailableError(f"{path} is missing; reinstall {OPENCV_PIN}")
    return path


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
    ) -> None:
        if min_score is not None and not 0.0 <= min_score < 1.0:
            raise ValueError(f"min_score must lie in [0, 1), got {min_score}")
        if min_size < 1 or scale_factor <= 1.0 or min_neighbors < 0:
            raise ValueError("need min_size >= 1, scale_factor > 1 and min_neighbors >= 0")
        path = cascade_path()
        try:
            self._cascade = cv2.CascadeClassifier(str(path))
        except (cv2.error, SystemError) as exc:  # a corrupt XML raises instead of loading empty
            raise DetectorUnavailableError(f"OpenCV could not load {path}; reinstall {OPENCV_PIN}") from exc
        if self._cascade.empty():
            raise DetectorUnavailableError(f"OpenCV could not load {path}; reinstall {OPENCV_PIN}")
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
