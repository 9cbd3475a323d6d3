"""The box -> crop mapping (fer_core.preprocessing.Framing) and eye levelling, on shapes with
known geometry and on the astronaut's face rolled by a known angle."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fer_core.detection import create_detector
from fer_core.detection.base import Detection
from fer_core.pipeline import FaceAnalyzer
from fer_core.preprocessing import (
    DEFAULT_FRAMING,
    Framing,
    crop_face,
    crop_matrix,
    crop_region,
    eye_roll,
    square_box,
)

EYES_LEVEL = np.array([[40.0, 50.0], [60.0, 50.0]], np.float32)


def test_region_scales_and_shifts_in_box_units():
    r = crop_region((100, 200, 50, 40), Framing(scale=1.2, shift_x=0.1, shift_y=-0.25, align=False))
    assert (r.cx, r.cy) == pytest.approx((125 + 5, 220 - 10))
    assert (r.width, r.height, r.angle) == pytest.approx((60, 60, 0))
    tall = crop_region((0, 0, 40, 40), Framing(scale=1.0, shift_y=0.0, aspect=0.81, align=False))
    assert tall.width / tall.height == pytest.approx(0.81) and tall.width * tall.height == pytest.approx(1600)


def test_old_margin_is_the_centred_square():
    assert square_box((10, 20, 100, 80), 0.15) == (-5, -5, 130, 130)
    assert Framing.from_margin(0.15) == Framing(scale=1.3, shift_x=0.0, shift_y=0.0, align=False)


def test_crop_follows_the_framing_and_replicates_edges():
    gray = np.tile(np.arange(100, dtype=np.uint8), (100, 1))  # value = x
    crop = crop_face(gray, (40, 40, 20, 20), Framing(scale=1.0, shift_x=0.5, shift_y=0.0, align=False))
    assert crop.shape == (20, 20)
    assert crop[10, 0] == pytest.approx(50, abs=1) and crop[10, -1] == pytest.approx(69, abs=1)
    border = crop_face(gray, (90, 40, 20, 20), Framing(scale=1.0, align=False))
    assert border.shape == (20, 20) and border[:, -5:].min() == 99  # replicated past the edge
    with pytest.raises(ValueError, match="outside"):
        crop_face(gray, (200, 200, 10, 10))


def test_eye_roll_reads_the_two_eyes():
    assert eye_roll(EYES_LEVEL) == pytest.approx(0.0)
    assert eye_roll(np.array([[0.0, 0.0], [10.0, 10.0]])) == pytest.approx(45.0)
    assert eye_roll(None) is None and eye_roll(np.zeros((2, 2))) is None


@pytest.mark.parametrize("angle", [-30.0, -12.0, 20.0, 35.0])
def test_levelled_crop_puts_the_eyes_on_one_row(angle: float):
    t = np.radians(angle)
    centre = np.array([120.0, 90.0])
    eyes = centre + 15.0 * np.array([[-np.cos(t), -np.sin(t)], [np.cos(t), np.sin(t)]])
    region = crop_region((95, 65, 50, 50), Framing(align=True), eyes)
    assert region.angle == pytest.approx(angle)
    matrix, _ = crop_matrix(region)
    moved = np.c_[eyes, np.ones(2)] @ matrix.T
    assert moved[0, 1] == pytest.approx(moved[1, 1], abs=1e-6)  # equal y: level
    assert moved[0, 0] < moved[1, 0]  # and not flipped
    # without alignment (or without landmarks: Haar) nothing is rotated
    assert crop_region((95, 65, 50, 50), Framing(align=False), eyes).angle == 0.0
    assert crop_region((95, 65, 50, 50), Framing(align=True), None).angle == 0.0


def _rolled(image: np.ndarray, degrees: float) -> np.ndarray:
    pad = max(image.shape[:2]) // 4
    big = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    m = cv2.getRotationMatrix2D((big.shape[1] / 2, big.shape[0] / 2), degrees, 1.0)
    return cv2.warpAffine(big, m, (big.shape[1], big.shape[0]), borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("degrees", [-25, 25])
def test_a_rolled_real_face_is_levelled(astronaut: np.ndarray, degrees: int):
    detector = create_detector()
    upright = detector.detect(astronaut)[0]
    face = detector.detect(_rolled(astronaut, degrees))[0]
    base = eye_roll(upright.landmarks)
    assert abs(eye_roll(face.landmarks) - base + degrees) < 8  # the detector sees the roll (+-landmark noise)
    rgb = _rolled(astronaut, degrees)
    levelled = crop_face(rgb[:, :, 1], face.box, Framing(scale=2.0, align=True), face.landmarks)
    again = detector.detect(cv2.cvtColor(levelled, cv2.COLOR_GRAY2RGB))[0]
    assert abs(eye_roll(again.landmarks)) < 8  # levelled: the eyes on one row
    unlevelled = crop_face(rgb[:, :, 1], face.box, Framing(scale=2.0, align=False), face.landmarks)
    still = detector.detect(cv2.cvtColor(unlevelled, cv2.COLOR_GRAY2RGB))[0]
    assert abs(eye_roll(still.landmarks) - base) > 15


def test_every_pipeline_path_uses_the_default_framing(astronaut: np.ndarray):
    seen = []

    class Recorder:
        name = "recorder"

        def predict(self, faces):
            seen.append(faces.copy())
            return np.full((len(faces), 7), 1 / 7, np.float32)

    face = create_detector().detect(astronaut)[0]

    class Fixed:
        name, min_score = "fixed", 0.0

        def detect(self, image):
            return [face]

    analyzer = FaceAnalyzer(Fixed(), Recorder())
    assert analyzer.framing == DEFAULT_FRAMING
    analyzer.analyze(astronaut)
    expected = cv2.resize(crop_face(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY), face.box, DEFAULT_FRAMING,
                                    face.landmarks), (48, 48), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(seen[0][0, :, :, 0], expected / 255.0, atol=1e-6)
    assert isinstance(face, Detection)


def test_the_crop_follows_the_detector(monkeypatch: pytest.MonkeyPatch):
    from fer_core import preprocessing

    special = Framing(scale=1.05, shift_y=0.02, align=False)
    monkeypatch.setitem(preprocessing.DETECTOR_FRAMINGS, "haar", special)

    class Named:
        min_score = 0.0

        def __init__(self, name):
            self.name = name

        def detect(self, image):
            return []

    assert FaceAnalyzer(Named("haar"), None).framing == special
    assert FaceAnalyzer(Named("blazeface"), None).framing == DEFAULT_FRAMING
    fixed = Framing(scale=2.0)
    assert FaceAnalyzer(Named("haar"), None, framing=fixed).framing == fixed  # an explicit crop wins
