"""bench.studies.detect_every's scoring on hand-made sequences (the study itself is a benchmark:
`python -m bench.studies.detect_every`)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bench.studies.detect_every import compare, summarise, sweep


def test_frames_are_scored_against_the_detector_on_every_frame():
    box = (10, 10, 20, 20)
    reference = [("happy", box), ("happy", box), None, ("sad", box)]
    other = [("happy", box), ("sad", (20, 10, 20, 20)), None, None]
    part = compare(reference, other)
    assert part["frames_with_face"] == 3 and part["same_label"] == 1 and part["missed"] == 1
    assert part["iou_n"] == 2 and part["iou_sum"] == pytest.approx(1 + 1 / 3)
    row = summarise(2, [part, compare(reference, reference)])
    assert row["label_agreement"] == pytest.approx(4 / 6) and row["missed_share"] == pytest.approx(1 / 6)
    assert row["mean_iou"] == pytest.approx((1 + 1 / 3 + 3) / 5)


def test_the_sweep_moves_at_the_speed_asked():
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[20:28, 28:36] = 255
    frames = sweep(frame, 40, 4.0)
    xs = [np.nonzero(f[:, :, 0].max(axis=0) > 127)[0].mean() for f in frames]  # the block's columns
    assert max(abs(b - a) for a, b in itertools.pairwise(xs)) == pytest.approx(4.0, abs=0.7)
