"""Blends: member weights chosen on PublicTest for agreement with people above a FER2013 floor
(fer_core.blend), and the weighted ensemble that runs them."""

from __future__ import annotations

import numpy as np
import pytest

from fer_core.blend import blend, fit_blend, weight_grid
from fer_core.classifier import EnsembleClassifier
from fer_core.errors import ConfigError


def test_weight_grid_sums_to_one_and_keeps_every_member():
    pairs = weight_grid(2)
    assert pairs[0] == (0.1, 0.9) and pairs[-1] == (0.9, 0.1) and len(pairs) == 9
    triples = weight_grid(3)
    assert len(triples) == 36 and all(abs(sum(w) - 1) < 1e-9 and min(w) > 0 for w in triples)


def _onehot(answers: np.ndarray, confidence: float) -> np.ndarray:
    p = np.full((len(answers), 7), (1 - confidence) / 6)
    p[np.arange(len(answers)), answers] = confidence
    return p


def test_fit_blend_takes_the_most_people_agreement_the_floor_allows():
    rng = np.random.default_rng(0)
    n = 400
    majority = rng.integers(0, 7, n)  # what people say
    labels = np.where(rng.random(n) < 0.5, majority, (majority + 1) % 7)  # FER2013 agrees half the time
    crowd = _onehot(majority, 0.6)  # always the crowd's answer, at one confidence
    # the label model: always FER2013's answer, sure of it on some faces only, so that the weight
    # trades agreement with people against FER2013's labels face by face
    label_model = _onehot(labels, 1.0) * rng.uniform(0.3, 1.0, (n, 1)) + 0.01
    label_model /= label_model.sum(1, keepdims=True)
    probs = [crowd, label_model]

    def score(w):
        answer = blend(probs, w).argmax(axis=1)
        return float(np.mean(answer == majority)), float(np.mean(answer == labels))

    free = fit_blend(probs, labels, majority, floor=None)
    assert free.people == max(score(w)[0] for w in weight_grid(2))
    floor = 0.75
    held = fit_blend(probs, labels, majority, floor=floor)
    assert held.fer2013 >= floor and held.people < free.people  # the floor costs agreement here
    assert held.people == max(p for p, f in map(score, weight_grid(2)) if f >= floor)
    assert (held.people, held.fer2013) == score(held.weights)
    assert len(held.table) == 9 and {tuple(r["weights"]) for r in held.table} == set(weight_grid(2))
    majority[:] = -1
    with pytest.raises(ValueError, match="FER\\+ majority"):
        fit_blend(probs, labels, majority, floor=None)


def test_fit_blend_says_when_no_weighting_reaches_the_floor():
    answers = np.arange(70) % 7
    probs = [_onehot(answers, 0.9), _onehot((answers + 1) % 7, 0.9)]
    with pytest.raises(ValueError, match="no weighting .* floor 99.00%"):
        fit_blend(probs, (answers + 3) % 7, answers, floor=0.99)


class _Fixed:
    def __init__(self, name: str, probs: np.ndarray) -> None:
        self.name, self.probs, self.calls = name, probs, 0

    def predict(self, faces: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.repeat(self.probs[None], len(faces), axis=0).astype(np.float32)


def test_a_weighted_ensemble_is_the_weighted_mean_and_skips_unweighted_members():
    a, b = np.eye(7)[0], np.eye(7)[3]
    ma, mb = _Fixed("a", a), _Fixed("b", b)
    faces = np.zeros((2, 48, 48, 1), np.float32)
    out = EnsembleClassifier([ma, mb], weights=[3, 1]).predict(faces)  # weights are normalised
    np.testing.assert_allclose(out, np.repeat((0.75 * a + 0.25 * b)[None], 2, axis=0), atol=1e-6)
    np.testing.assert_allclose(EnsembleClassifier([ma, mb]).predict(faces)[0], 0.5 * (a + b), atol=1e-6)
    calls = mb.calls
    EnsembleClassifier([ma, mb], weights=[1, 0]).predict(faces)
    assert mb.calls == calls  # a member with weight 0 costs nothing
    for bad in ([1.0], [-1.0, 2.0], [0.0, 0.0]):
        with pytest.raises(ConfigError, match="non-negative weights"):
            EnsembleClassifier([ma, mb], weights=bad)


def test_a_blend_of_int8_files_runs_its_members_quantized_files(tiny_models_dir, tmp_path):
    """An index entry with "member_runtime": "int8" loads every member's model_int8.tflite, whatever
    runtime is asked for, and offers no second runtime."""
    import json
    import shutil

    from fer_core.model_zoo import get_model, load_model

    root = tmp_path / "zoo"
    shutil.copytree(tiny_models_dir, root)
    index = json.loads((root / "index.json").read_text())
    index["models"]["tiny_q"] = {"title": "q", "members": ["tiny", "tiny"], "weights": [0.5, 0.5],
                                 "member_runtime": "int8"}
    (root / "index.json").write_text(json.dumps(index))
    faces = np.random.default_rng(0).random((3, 48, 48, 1), dtype=np.float32)
    quantized = load_model("tiny", runtime="int8", root=root).predict(faces)
    assert not np.allclose(quantized, load_model("tiny", root=root).predict(faces), atol=1e-6)
    np.testing.assert_allclose(load_model("tiny_q", root=root).predict(faces), quantized, atol=1e-6)
    info = get_model("tiny_q", root)
    assert info.has_runtime("float") and not info.has_runtime("int8")
    assert info.runtime_description == "LiteRT int8 (dynamic range) members"
