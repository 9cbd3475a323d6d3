"""The measurement behind the shipped crop: bench.studies.framing recovers a known framing, and
bench.studies.photo_settings' choice rule prefers a plateau over a lucky cell. No FER2013, no photo set."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bench.studies.framing import fit_one
from bench.studies.photo_settings import choose, cross_validate
from fer_core.detection import create_detector
from fer_core.preprocessing import Framing, crop_face, resize_face, to_grayscale


@pytest.mark.parametrize("scale, shift_y", [(1.3, 0.0), (1.5, -0.1)])
def test_fit_recovers_the_framing_a_48px_face_was_cut_with(astronaut: np.ndarray, scale: float, shift_y: float):
    detector = create_detector()
    face = detector.detect(astronaut)[0]
    grey = to_grayscale(astronaut)
    cut = resize_face(crop_face(grey, face.box, Framing(scale=scale, shift_y=shift_y, align=False)))
    fit = fit_one(detector, cut, cv2.BORDER_REPLICATE)
    assert fit is not None
    # 48 px and 4x upscaling blur the face: the detector's box moves a little, not a lot
    assert fit["scale"] == pytest.approx(scale, rel=0.12)
    assert fit["shift_y"] == pytest.approx(shift_y, abs=0.06)
    assert abs(fit["shift_x"]) < 0.06


def test_choice_prefers_a_plateau_to_a_lucky_cell():
    scales, shifts = [1.0, 1.1, 1.2, 1.3, 1.4], [-0.2, -0.1, 0.0, 0.1]
    grid = [{"scale": s, "shift_y": d, "accuracy": 0.6} for s in scales for d in shifts]
    for row in grid:
        if row["scale"] in (1.1, 1.2, 1.3) and row["shift_y"] in (-0.1, 0.0):
            row["accuracy"] = 0.7  # a broad good region
        if (row["scale"], row["shift_y"]) == (1.4, 0.1):
            row["accuracy"] = 0.9  # one lucky corner
        if (row["scale"], row["shift_y"]) == (1.1, -0.2):
            row["accuracy"] = 0.85  # one lucky cell next to the plateau
    pick = choose(grid, scales, shifts)
    assert (pick["scale"], pick["shift_y"]) == (1.2, -0.1)
    assert pick["edge_best"] is True  # the best single cell is the corner: the grid should widen


def test_cross_validation_scores_held_out_people_only():
    labels = np.array([0, 1, 2, 3] * 5)
    people = [str(i // 4) for i in range(20)]  # five people, four photos each
    good = labels.copy()
    bad = (labels + 1) % 7
    scales, shifts = [0.9, 1.0, 1.1], [-0.1, 0.0, 0.1]
    answers = {(s, d): bad for s in scales for d in shifts}
    answers[(1.0, 0.0)] = good
    result = cross_validate(answers, labels, people, scales, shifts, folds=5)
    assert result["held_out_accuracy"] == 1.0 and result["people"] == 5
    assert all(p == {"scale": 1.0, "shift_y": 0.0} for p in result["picks"])


def test_a_crop_carried_to_another_detector_lands_on_the_same_pixels():
    from bench.studies.photo_settings import Found, box_mapping, mapped_framing
    from fer_core.detection.base import Detection
    from fer_core.preprocessing import crop_region

    # the other detector's box is 25% larger and sits 10% of its height lower on every face
    reference = [Found(0, Detection((100 + i, 100, 80, 80), 0.9)) for i in range(5)]
    other = [Found(0, Detection((90 + i, 100, 100, 100), 0.9)) for i in range(5)] + [Found(0, None)]
    mapping = box_mapping([*reference, Found(0, None)], other)
    assert mapping == {"matched": 5, "side_ratio": 0.8, "dx": 0.0, "dy": -0.1}
    base = Framing(scale=0.9, shift_y=-0.1, align=False)
    carried = mapped_framing(base, mapping)
    a = crop_region(reference[0].detection.box, base)
    b = crop_region(other[0].detection.box, carried)
    assert (b.cx, b.cy, b.width) == pytest.approx((a.cx, a.cy, a.width), abs=0.6)


def _row(model: str, setting: str, accuracy: float, default: bool, tta: float | None = None) -> dict:
    r = {"photos": 10, "faces_found": 10, "accuracy": accuracy, "macro_f1": accuracy, "recall": {}}
    row = {"model": model, "default_model": default, "setting": setting, "fer2013_privatetest_accuracy": 0.6, **r}
    if tta is not None:
        row["flip_tta"] = {**r, "accuracy": tta, "macro_f1": tta}
    return row


@pytest.mark.parametrize("app_flips", [True, False])
def test_photos_table_marks_the_row_the_app_runs(app_flips: bool):
    from dataclasses import asdict

    from bench.studies.photo_settings import OLD_FRAMING, render_models_markdown

    framing = {"scale": 1.0, "shift_x": 0.0, "shift_y": 0.0, "align": False, "aspect": 1.0}
    report = {"date": "d", "command": "c", "detector": "blazeface", "dataset": {"name": "x", "photos": 10},
              "old": asdict(OLD_FRAMING), "fitted": framing, "shipped_default": framing,
              "default_flip_tta": app_flips, "models": [
                  _row("a", "old crop", 0.5, True), _row("a", "shipped default", 0.6, True, tta=0.7),
                  _row("b", "shipped default", 0.55, False, tta=0.65)]}
    table = render_models_markdown(report)
    assert ("**70.0%, 0.700** (as the app runs it)" in table) is app_flips
    assert "65.0%, 0.650 |" in table and "(as the app runs it)" not in table.split("| b |")[1]
    assert "measured again" not in table
    # `--models-only` measured the models again later: the table says when and by what
    again = render_models_markdown({**report, "models_measured": {"date": "d2", "command": "c --models-only"}})
    assert "The models were measured again d2 by `c --models-only`" in again.splitlines()[0]


@pytest.mark.parametrize("held_out, expect", [(0.69, "the shipped crop stays"), (0.71, "NOT the grid's current choice")])
def test_the_crop_changes_only_when_the_tuning_rule_wins_on_held_out_people(held_out: float, expect: str):
    from bench.studies.photo_settings import CONTRASTS, GREYS, decisions

    brief = {"photos": 10, "faces_found": 10, "accuracy": 0.7, "macro_f1": 0.7, "recall": {}}
    shipped = {"scale": 0.92, "shift_x": 0.0, "shift_y": -0.03, "align": True, "aspect": 1.0}
    report = {"shipped_default": shipped,
              "grid_choice": {"True": {"scale": 0.92, "shift_y": -0.11}},
              "reference": {"shipped_default": brief, "old": brief, "fitted": brief},
              "cross_validation": {"True": {"held_out_accuracy": held_out}},
              "rolls": [{"roll": 0, "align": a, "accuracy": 0.7} for a in (False, True)],
              "contrast": dict.fromkeys(CONTRASTS, brief), "grey": dict.fromkeys(GREYS, brief),
              "aspect": {"1.0": brief}}
    assert expect in decisions(report)[0]
