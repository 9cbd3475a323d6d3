"""Image in, faces with emotions out: detection, crop, one batched classification.

    analyzer = FaceAnalyzer(create_detector(), load_model())
    for face in analyzer.analyze(rgb):             # photos: numbered left to right
        print(face.face_id, face.emotion, face.confidence)

    stream = StreamAnalyzer(analyzer, smoothing=0.6)
    faces = stream.update(frame_rgb)               # video: tracked ids, smoothed probabilities
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from fer_core.classifier import EmotionClassifier
from fer_core.detection.base import Detection, FaceDetector
from fer_core.image_io import downscale_for_detection, scale_box
from fer_core.labels import EMOTIONS
from fer_core.preprocessing import Box, Framing, crop_face, framing_for, to_grayscale, to_model_input
from fer_core.tracking import IoUTracker

HasBox = TypeVar("HasBox", Detection, "FaceResult")


def largest_face(faces: Sequence[HasBox]) -> HasBox | None:
    """The face a single-frame answer is about (a one-label photo, the webcam's person at the
    camera): the largest box; ties go to the first (the detector's order). None if no face."""
    return max(faces, key=lambda f: f.box[2] * f.box[3], default=None)


def reading_order(boxes: Sequence[Box]) -> list[int]:
    """Indices of `boxes` in reading order: rows from the top, left to right within a row. A
    face joins the current row when its centre lies within the height of the row's first face
    (a group photo's rows are never perfectly level)."""
    by_height = sorted(range(len(boxes)), key=lambda i: boxes[i][1] + boxes[i][3] / 2)
    rows: list[list[int]] = []
    for i in by_height:
        centre = boxes[i][1] + boxes[i][3] / 2
        if rows:
            first = boxes[rows[-1][0]]
            if centre <= first[1] + first[3]:
                rows[-1].append(i)
                continue
        rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda j: boxes[j][0] + boxes[j][2] / 2)]


MAX_DETECT_SIDE = 1280  # detectors see at most this many pixels on the longer side
MAX_FACES = 100  # more than this per image is a crowd shot; the largest faces are kept


@dataclass(frozen=True)
class FaceResult:
    """One face: where it is, how sure the detector was, and the 7 emotion probabilities."""

    face_id: int
    box: Box  # x, y, w, h in the pixels of the analysed image
    detection_score: float
    probabilities: np.ndarray = field(compare=False)  # (7,) in EMOTIONS order, sums to 1
    landmarks: np.ndarray | None = field(default=None, compare=False)

    @property
    def emotion(self) -> str:
        return EMOTIONS[int(np.argmax(self.probabilities))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.probabilities))

    def __repr__(self) -> str:  # short enough to print a list of faces
        x, y, w, h = (int(v) for v in self.box)
        return (f"FaceResult(face_id={self.face_id}, emotion={self.emotion!r}, "
                f"confidence={self.confidence:.3f}, box=({x}, {y}, {w}, {h}))")

    def probability_dict(self) -> dict[str, float]:
        return {name: float(p) for name, p in zip(EMOTIONS, self.probabilities)}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: id, box, scores and probabilities as plain Python numbers."""
        x, y, w, h = self.box
        return {
            "face": self.face_id,
            "box": {"x": int(x), "y": int(y), "width": int(w), "height": int(h)},
            "detection_score": round(float(self.detection_score), 4),
            "emotion": self.emotion,
            "confidence": round(self.confidence, 4),
            "probabilities": {k: round(v, 4) for k, v in self.probability_dict().items()},
        }


class FaceAnalyzer:
    """Detects faces (on a downscaled copy of large images) and classifies them in one batch.

    Stateless apart from the models it holds, so one instance serves many threads when its
    detector and classifier do (ours lock around their interpreters)."""

    def __init__(
        self,
        detector: FaceDetector,
        classifier: EmotionClassifier,
        *,
        framing: Framing | None = None,
        max_detect_side: int = MAX_DETECT_SIDE,
        max_faces: int = MAX_FACES,
    ) -> None:
        self.detector = detector
        self.classifier = classifier
        # the crop follows the detector's box convention unless the caller fixes one
        self.framing = framing or framing_for(getattr(detector, "name", ""))
        self.max_detect_side = max_detect_side
        self.max_faces = max_faces

    @classmethod
    def default(cls, model: str | None = None, detector: str | None = None, *, runtime: str = "float",
                flip_tta: bool | None = None) -> FaceAnalyzer:
        """The shipped default model (or `model`) behind the default detector (or `detector`),
        the app's own crop; flip TTA as the app's default (`default_flip_tta` in the models'
        index) unless given. Raises ModelNotFoundError / DetectorUnavailableError / ValueError."""
        from fer_core.detection import DEFAULT_DETECTOR, create_detector
        from fer_core.model_zoo import default_flip_tta, load_model

        flip = default_flip_tta() if flip_tta is None else flip_tta
        return cls(create_detector(detector or DEFAULT_DETECTOR), load_model(model, runtime=runtime, flip_tta=flip))

    def detect(self, image: np.ndarray, *, stream_frame: bool = False) -> list[Detection]:
        """Faces in full-image coordinates, at most `max_faces` (the largest). A `stream_frame`
        (video, webcam) gets the detector's cheaper frame pass where it has one."""
        small, scale = downscale_for_detection(image, self.max_detect_side)
        frame_pass = getattr(self.detector, "detect_frame", None) if stream_frame else None
        found = (frame_pass or self.detector.detect)(small)
        if scale != 1.0:
            found = [
                Detection(scale_box(d.box, scale), d.score,
                          None if d.landmarks is None else (d.landmarks / np.float32(scale)).astype(np.float32))
                for d in found
            ]
        found = [d for d in found if d.box[2] > 0 and d.box[3] > 0]
        if len(found) > self.max_faces:
            found = sorted(found, key=lambda d: d.box[2] * d.box[3], reverse=True)[: self.max_faces]
        return found

    def classify(self, image: np.ndarray, boxes: list[Box],
                 landmarks: list[np.ndarray | None] | None = None) -> np.ndarray:
        """(N, 7) probabilities for the faces at `boxes`, cropped from the full-resolution image
        (levelled by their eye `landmarks` where the framing aligns and the detector gave them)."""
        if not boxes:
            return np.zeros((0, len(EMOTIONS)), np.float32)
        gray = to_grayscale(image)
        points = landmarks if landmarks is not None else [None] * len(boxes)
        crops = [crop_face(gray, box, self.framing, p) for box, p in zip(boxes, points)]
        return self.classifier.predict(to_model_input(crops))

    def analyze(self, image: np.ndarray) -> list[FaceResult]:
        """Every face in a photo, numbered 1.. in reading order (rows from the top, left to right)."""
        found = self.detect(image)
        found = [found[i] for i in reading_order([d.box for d in found])]
        probs = self.classify(image, [d.box for d in found], [d.landmarks for d in found])
        return [
            FaceResult(i + 1, d.box, d.score, p, d.landmarks)
            for i, (d, p) in enumerate(zip(found, probs))
        ]

    def analyze_crop(self, image: np.ndarray) -> FaceResult:
        """Classify the whole image as one face, skipping detection: for inputs that are
        already face crops (FER2013-style 48x48 faces, which detectors need context to find)."""
        h, w = image.shape[:2]
        gray = to_grayscale(image)
        probs = self.classifier.predict(to_model_input([gray]))[0]
        return FaceResult(1, (0, 0, int(w), int(h)), 1.0, probs)


class StreamAnalyzer:
    """Per-stream state on top of a FaceAnalyzer: tracked face numbers, smoothed probabilities.

    `detect_every` k: the detector runs on every k-th frame, and on every frame while nothing is
    tracked; the frames between classify the faces at their last detected boxes (a webcam face
    moves little in a tenth of a second; bench.studies.detect_every measures what it does to the
    labels). `smoothing` and `detect_every` can be changed between frames (plain assignments,
    safe across threads)."""

    def __init__(self, analyzer: FaceAnalyzer, *, smoothing: float = 0.6, min_iou: float = 0.3,
                 max_missed: int = 10, detect_every: int = 1) -> None:
        self.analyzer = analyzer
        self.tracker = IoUTracker(smoothing=smoothing, min_iou=min_iou, max_missed=max_missed)
        self.detect_every = detect_every
        self._found: list[Detection] = []  # the last detector answer, reused between detections
        self._since_detection = 0  # frames since the detector last ran

    @property
    def smoothing(self) -> float:
        return self.tracker.smoothing

    @smoothing.setter
    def smoothing(self, value: float) -> None:
        self.tracker.smoothing = value

    @property
    def detect_every(self) -> int:
        return self._detect_every

    @detect_every.setter
    def detect_every(self, value: int) -> None:
        if int(value) != value or value < 1:
            raise ValueError(f"detect_every must be a whole number of at least 1, got {value}")
        self._detect_every = int(value)

    def reset(self) -> None:
        self.tracker.reset()
        self._found, self._since_detection = [], 0

    def update(self, frame: np.ndarray) -> list[FaceResult]:
        if self._found and 0 < self._since_detection < self._detect_every:
            found = self._found  # between detections: the faces stay where they were last found
            self._since_detection += 1
        else:
            found = self.analyzer.detect(frame, stream_frame=True)
            self._found, self._since_detection = found, 1
        boxes = [d.box for d in found]
        tracks = self.tracker.update(boxes, self.analyzer.classify(frame, boxes, [d.landmarks for d in found]))
        return [
            FaceResult(t.track_id, d.box, d.score, t.probabilities.copy(), d.landmarks)
            for d, t in zip(found, tracks)
        ]
