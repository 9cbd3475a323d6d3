"""The frame pipeline on a real face (scikit-image's astronaut) with the fixture's tiny model."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from fer_core.detection.base import Detection
from fer_core.labels import EMOTIONS
from fer_core.pipeline import FaceAnalyzer, FaceResult, StreamAnalyzer

FACE_CENTRE = (225, 110)  # astronaut: (x, y) of Eileen Collins' face, by eye


def _contains(box, point) -> bool:
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def test_analyze_finds_the_face_with_seven_probabilities(analyzer, astronaut):
    faces = analyzer.analyze(astronaut)
    assert len(faces) == 1
    face = faces[0]
    assert face.face_id == 1
    assert _contains(face.box, FACE_CENTRE)
    assert face.probabilities.shape == (len(EMOTIONS),)
    assert face.probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    assert face.emotion in EMOTIONS
    assert face.confidence == pytest.approx(face.probabilities.max())
    record = json.loads(json.dumps(face.as_dict()))
    assert set(record["probabilities"]) == set(EMOTIONS)


def test_large_image_is_detected_on_a_downscaled_copy_and_boxes_map_back(analyzer, astronaut):
    big = cv2.resize(astronaut, (4096, 4096), interpolation=cv2.INTER_CUBIC)  # 16.8 MP
    small_box = analyzer.analyze(astronaut)[0].box
    big_faces = analyzer.analyze(big)
    assert len(big_faces) == 1
    scaled = np.array(small_box) * 8
    assert np.abs(np.array(big_faces[0].box) - scaled).max() < 0.1 * scaled[2]


def test_no_face_gives_empty_list(analyzer):
    rng = np.random.default_rng(0)
    assert analyzer.analyze(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)) == []
    assert analyzer.analyze(np.zeros((480, 640, 3), np.uint8)) == []


def test_grey_input_works(analyzer, astronaut):
    grey = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    assert len(analyzer.analyze(grey)) == 1


class _FixedDetector:
    """Returns the boxes it is given: lets tests control detection exactly."""

    name, min_score = "fixed", 0.0

    def __init__(self, boxes):
        self.boxes = boxes

    def detect(self, image):
        return [Detection(b, 0.9) for b in self.boxes]


def test_faces_are_numbered_left_to_right_and_classified_in_one_batch(tiny_classifier, astronaut):
    calls = []

    class Counting:
        name = "counting"

        def predict(self, faces):
            calls.append(len(faces))
            return tiny_classifier.predict(faces)

    boxes = [(300, 50, 100, 100), (10, 60, 100, 100), (160, 40, 120, 120)]
    faces = FaceAnalyzer(_FixedDetector(boxes), Counting()).analyze(astronaut)
    assert calls == [3]
    assert [f.box[0] for f in faces] == [10, 160, 300]
    assert [f.face_id for f in faces] == [1, 2, 3]


def test_max_faces_keeps_the_largest(tiny_classifier, astronaut):
    boxes = [(i * 20, 0, 10 + i, 10 + i) for i in range(10)]
    faces = FaceAnalyzer(_FixedDetector(boxes), tiny_classifier, max_faces=3).analyze(astronaut)
    assert sorted(f.box[2] for f in faces) == [17, 18, 19]


def test_a_photo_with_200_faces_keeps_the_largest_hundred_and_draws_them(tiny_classifier, astronaut):
    """A crowd shot: 200 detections (20-69 px) on a 1280x640 photo (the detector's own scale).
    The pipeline keeps the MAX_FACES largest, classifies them in one batch, and draws each."""
    from fer_core.drawing import draw_faces
    from fer_core.pipeline import MAX_FACES

    photo = np.ascontiguousarray(np.tile(cv2.resize(astronaut, (64, 64)), (10, 20, 1)))
    sizes = [20 + i // 4 for i in range(200)]
    boxes = [((i % 20) * 64, (i // 20) * 64, s, s) for i, s in enumerate(sizes)]
    faces = FaceAnalyzer(_FixedDetector(boxes), tiny_classifier).analyze(photo)
    assert len(faces) == MAX_FACES == 100
    assert sorted(f.box[2] for f in faces) == sorted(sizes)[-100:]
    assert [f.face_id for f in faces] == list(range(1, 101))
    drawn = draw_faces(photo, faces)
    assert drawn.shape == photo.shape and (drawn != photo).any()


def test_stream_keeps_ids_and_smooths(tiny_classifier, astronaut):
    detector = _FixedDetector([(180, 40, 100, 120)])
    stream = StreamAnalyzer(FaceAnalyzer(detector, tiny_classifier), smoothing=0.9)
    first = stream.update(astronaut)
    detector.boxes = [(184, 42, 100, 120)]  # the face moved a little
    dark = (astronaut * 0.3).astype(np.uint8)
    raw = FaceAnalyzer(detector, tiny_classifier).analyze(dark)[0].probabilities
    second = stream.update(dark)
    assert second[0].face_id == first[0].face_id == 1
    expected = 0.9 * first[0].probabilities + 0.1 * raw
    np.testing.assert_allclose(second[0].probabilities, expected, atol=1e-5)
    detector.boxes = [(400, 300, 80, 80)]  # a different face: a new number
    assert stream.update(astronaut)[0].face_id == 2
    stream.smoothing = 0.0
    with pytest.raises(ValueError):
        stream.smoothing = 1.0


def test_face_result_is_frozen():
    face = FaceResult(1, (0, 0, 10, 10), 0.9, np.full(7, 1 / 7, np.float32))
    with pytest.raises(AttributeError):
        face.face_id = 2  # type: ignore[misc]


def test_face_crop_mode_classifies_the_whole_image(analyzer, tiny_classifier):
    from tests.conftest import synthetic_faces

    images, _ = synthetic_faces(1, 0)
    face = analyzer.analyze_crop(images[3])
    assert face.box == (0, 0, 48, 48)
    np.testing.assert_allclose(face.probabilities, tiny_classifier.predict(images[3][None, :, :, None] / 255.0)[0],
                               atol=1e-6)


def test_stream_analyzer_detects_every_kth_frame_and_starts_over_after_reset(tiny_classifier):
    class Counting:
        name, min_score, calls = "stub", 0.0, 0

        def detect(self, image):
            self.calls += 1
            return [Detection((10, 10, 30, 30), 0.9)]

    detector = Counting()
    stream = StreamAnalyzer(FaceAnalyzer(detector, tiny_classifier), detect_every=2)
    frame = np.full((64, 64, 3), 100, np.uint8)
    faces = [stream.update(frame) for _ in range(5)]
    assert detector.calls == 3  # frames 0, 2, 4
    assert all(len(f) == 1 and f[0].face_id == 1 and f[0].box == (10, 10, 30, 30) for f in faces)
    stream.update(frame)  # frame 5: between detections
    stream.reset()
    stream.update(frame)  # a new session detects first
    assert detector.calls == 4
    for bad in (0, 1.5, -1):
        with pytest.raises(ValueError, match="detect_every"):
            stream.detect_every = bad
