"""bench.studies.people_frontier's bookkeeping on made-up probabilities: which ways select-default's
rule may pick (time and floor, judged on PublicTest only), the pair's weights and the best way."""

from __future__ import annotations

import numpy as np
import pytest

from bench.common.fer2013 import LabelledFaces


def _faces(labels: list[int], majority: list[int]) -> LabelledFaces:
    return LabelledFaces("x", np.zeros((len(labels), 48, 48), np.uint8), np.array(labels), np.array(majority))


def _onehot(answers: list[int]) -> np.ndarray:
    return np.eye(7, dtype=np.float32)[answers]


@pytest.fixture
def study(monkeypatch: pytest.MonkeyPatch):
    from bench.studies import people_frontier as pf

    # four faces: FER2013 says 0 0 1 1, the crowd 0 2 2 -1 (the last one's majority is no emotion)
    inputs = pf.Inputs(public=_faces([0, 0, 1, 1], [0, 2, 2, -1]), private=_faces([0, 0, 1, 1], [0, 2, 2, -1]),
                       photos=np.zeros((1, 48, 48, 1), np.float32), photo_labels=np.array([0]), photo_count=2)
    crowd, labels = _onehot([0, 2, 2, 2]), _onehot([0, 0, 1, 1])  # a crowd-like and a label-like model
    fake = {"crowd": crowd, "labels": labels}
    monkeypatch.setattr(pf, "model_probs", lambda name, _: {
        f"{part}_{flip}": (fake[name] if part != "photos" else _onehot([0]))
        for part in ("public", "private", "photos") for flip in (0, 1)})
    times = {"crowd": 0.8, "labels": 1.5}
    monkeypatch.setattr(pf, "ms_per_face", lambda name: times[name])
    return pf, inputs


def test_scores_count_people_only_where_their_majority_is_an_emotion(study):
    pf, inputs = study
    s = pf.scores({"public": _onehot([0, 2, 2, 2]), "private": _onehot([0, 0, 1, 1]), "photos": _onehot([0])},
                  inputs)
    assert s["publictest_ferplus"] == 1.0 and s["publictest_fer2013"] == 0.25
    assert s["privatetest_ferplus"] == pytest.approx(1 / 3) and s["privatetest_fer2013"] == 1.0
    assert s["photos"] == 0.5  # the photo without a face counts as wrong


def test_the_rule_may_pick_only_ways_within_time_and_above_the_floor(study):
    pf, inputs = study
    rows = {r["way"]: r for r in pf.frontier(["crowd", "labels"], ["crowd", "labels"], [], inputs, floor=0.5)}
    assert not rows["crowd"]["eligible"]  # agrees with people most, below the floor on FER2013's labels
    assert rows["labels"]["eligible"]
    assert rows["labels"]["ms_per_face"] == 1.5 and rows["labels + flip TTA"]["ms_per_face"] == 3.0
    assert not rows["labels + flip TTA"]["eligible"]  # over 2 ms per face
    pair = [r for r in rows.values() if " x crowd + " in r["way"]]
    assert len(pair) == 9 and all(r["ms_per_face"] == pytest.approx(2.3) and not r["eligible"] for r in pair)

    report = {"date": "d", "command": "c", "floor": {"accuracy": 0.5, "source": "fer"},
              "photos": {"name": "p", "count": 2}, "rows": list(rows.values()),
              "best": max((r for r in rows.values() if r["eligible"]), key=lambda r: r["publictest_ferplus"])}
    table = pf.render_markdown(report)
    assert report["best"]["way"] == "labels" and "**labels**" in table
    assert "| crowd | 0.80 | 100.00% | 25.00% | no |" in table
