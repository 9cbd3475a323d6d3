"""Pure functions: classification metrics and IoU tracking."""

from __future__ import annotations

import numpy as np
import pytest

from fer_core.metrics import classification_report, confusion_matrix, expected_calibration_error
from fer_core.tracking import IoUTracker, iou, match_boxes


def _onehot(labels, n=7, p=0.9):
    out = np.full((len(labels), n), (1 - p) / (n - 1))
    out[np.arange(len(labels)), labels] = p
    return out


def test_report_on_a_hand_checked_example():
    y_true = np.array([0, 0, 1, 3, 3, 3, 6])
    y_pred = np.array([0, 3, 1, 3, 3, 6, 6])
    r = classification_report(_onehot(y_pred), y_true)
    assert r["accuracy"] == pytest.approx(5 / 7)
    assert r["confusion_matrix"][0] == [1, 0, 0, 1, 0, 0, 0]
    assert r["per_class"]["happy"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert r["per_class"]["angry"]["recall"] == pytest.approx(0.5)
    assert r["per_class"]["disgust"]["f1"] == pytest.approx(1.0)
    assert r["per_class"]["fear"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert r["count"] == 7


def test_top2_and_calibration():
    probs = np.array([[0.5, 0.4, 0, 0, 0, 0, 0.1], [0.1, 0.2, 0.7, 0, 0, 0, 0]])
    r = classification_report(probs, np.array([1, 0]))
    assert r["accuracy"] == 0.0
    assert r["top2_accuracy"] == 0.5
    # both predictions wrong at confidence 0.5 and 0.7: ECE is their mean confidence
    assert expected_calibration_error(probs, np.array([1, 0])) == pytest.approx(0.6)
    perfect = _onehot(np.array([2, 2]), p=1.0)
    assert expected_calibration_error(perfect, np.array([2, 2])) == pytest.approx(0.0)


def test_confusion_matrix_and_shape_errors():
    assert confusion_matrix(np.array([1, 2]), np.array([2, 2]), 3).tolist() == [[0, 0, 0], [0, 0, 1], [0, 0, 1]]
    with pytest.raises(ValueError):
        classification_report(np.zeros((3, 5)), np.zeros(3, int))


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (10, 0, 10, 10)) == 0.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0


def test_matching_is_one_to_one_best_first():
    prev = [(0, 0, 10, 10), (100, 0, 10, 10)]
    cur = [(101, 0, 10, 10), (1, 0, 10, 10), (50, 50, 10, 10)]
    assert match_boxes(prev, cur, 0.3) == {0: 1, 1: 0}
    # two current boxes on one previous: only the better one inherits it
    assert match_boxes([(0, 0, 10, 10)], [(0, 0, 10, 10), (2, 0, 10, 10)], 0.3) == {0: 0}


def test_tracker_ids_smoothing_and_expiry():
    t = IoUTracker(smoothing=0.5, max_missed=1)
    p1, p2 = np.eye(7)[3], np.eye(7)[4]
    (a,) = t.update([(0, 0, 10, 10)], p1[None])
    (b,) = t.update([(1, 0, 10, 10)], p2[None])
    assert a.track_id == b.track_id == 1
    np.testing.assert_allclose(b.probabilities, 0.5 * p1 + 0.5 * p2)
    t.update([], np.zeros((0, 7)))  # missed once: kept
    (c,) = t.update([(1, 0, 10, 10)], p2[None])
    assert c.track_id == 1
    t.update([], np.zeros((0, 7)))
    t.update([], np.zeros((0, 7)))  # missed twice: dropped
    (d,) = t.update([(1, 0, 10, 10)], p2[None])
    assert d.track_id == 2
    np.testing.assert_allclose(d.probabilities, p2)  # a new track starts unsmoothed
    t.reset()
    assert t.update([(0, 0, 5, 5)], p1[None])[0].track_id == 1
    with pytest.raises(ValueError):
        IoUTracker(smoothing=1.0)
