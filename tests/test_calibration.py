"""Temperature scaling: the fit finds a known temperature, scaling never changes a pass's top
emotion, and a shipped model's temperature reaches every classifier loaded by name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fer_core.calibration import (
    PRIOR_STRENGTHS,
    apply_class_bias,
    apply_temperature,
    choose_prior_strength,
    fit_temperature,
    negative_log_likelihood,
    prior_bias,
)
from fer_core.metrics import expected_calibration_error


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _labelled(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits and labels drawn from softmax(logits): those probabilities are calibrated."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 2.0, (n, 7))
    p = _softmax(z)
    labels = np.array([rng.choice(7, p=row) for row in p])
    return z, labels


@pytest.mark.parametrize("true_t", [0.5, 2.0])
def test_the_fit_recovers_the_temperature_that_calibrates(true_t: float):
    z, labels = _labelled(20000)
    miscalibrated = _softmax(z / true_t).astype(np.float32)  # over- (t<1) or under-confident (t>1)
    t = fit_temperature(miscalibrated, labels)
    assert t == pytest.approx(1.0 / true_t, rel=0.05)
    scaled = apply_temperature(miscalibrated, t)
    assert expected_calibration_error(scaled, labels) < 0.5 * expected_calibration_error(miscalibrated, labels)
    assert negative_log_likelihood(miscalibrated, labels, t) < negative_log_likelihood(miscalibrated, labels)


def test_scaling_keeps_the_top_emotion_and_sums_to_one():
    z, _ = _labelled(500, seed=1)
    p = _softmax(z).astype(np.float32)
    for t in (0.3, 1.7, 4.0):
        q = apply_temperature(p, t)
        assert q.dtype == np.float32 and np.allclose(q.sum(axis=1), 1.0, atol=1e-5)
        assert (q.argmax(axis=1) == p.argmax(axis=1)).all()
    assert apply_temperature(p, 1.0) is p
    with pytest.raises(ValueError, match="labelled"):
        fit_temperature(p[:0], np.zeros(0, int))


def test_a_shipped_temperature_reaches_every_classifier_loaded_by_name(tiny_models_dir: Path, synthetic_data: Path,
                                                                        tmp_path: Path):
    from fer_core.model_zoo import load_model
    from fer_core.training.evaluate import evaluate_shipped
    from fer_core.training.export import calibrate_shipped, ensembles_with, update_index

    root = tmp_path / "models"
    shutil.copytree(tiny_models_dir, root)
    update_index(root, "pair", {"title": "pair", "members": ["tiny", "tiny"]})
    # 28 PublicTest faces: too few to fit anything, so nothing is fitted and the record says why
    skipped = calibrate_shipped("tiny", synthetic_data, root=root)
    assert skipped["temperature"] == 1.0 and "only 28 PublicTest images" in skipped["skipped"]
    fit = calibrate_shipped("tiny", synthetic_data, root=root, min_images=1)
    t = fit["temperature"]
    entry = json.loads((root / "index.json").read_text())["models"]["tiny"]
    assert entry["temperature"] == t and entry["calibration"]["fitted_on"] == "PublicTest (28 images)"
    assert t != 1.0  # a 2-epoch model on stripe images: far from calibrated, so the fit moves
    assert ensembles_with(["tiny"], root) == ["pair"]

    rng = np.random.default_rng(0)
    faces = rng.random((3, 48, 48, 1), dtype=np.float32)
    raw = load_model("tiny", root=root, calibrated=False).predict(faces)
    assert np.allclose(load_model("tiny", root=root).predict(faces), apply_temperature(raw, t), atol=1e-5)
    mirrored = load_model("tiny", root=root, calibrated=False).predict(faces[:, :, ::-1, :])
    expected_tta = (apply_temperature(raw, t) + apply_temperature(mirrored, t)) / 2
    assert np.allclose(load_model("tiny", root=root, flip_tta=True).predict(faces), expected_tta, atol=1e-5)
    assert np.allclose(load_model("pair", root=root).predict(faces), apply_temperature(raw, t), atol=1e-5)

    # re-evaluated without timing: the temperature is recorded, the last measured speed kept
    before = json.loads((root / "tiny" / "metrics.json").read_text())
    after = evaluate_shipped("tiny", synthetic_data, root=root, timing=False)
    assert after["temperature"] == t
    assert after["speed"]["ms_per_face_batch1_p50"] == before["speed"]["ms_per_face_batch1_p50"]
    assert after["speed"]["measured"] == before["date"]
    with pytest.raises(ValueError, match="ensemble"):
        calibrate_shipped("pair", synthetic_data, root=root)


def _long_tailed(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A model that learnt a skewed prior: class 0 is 60% of its training faces, class 2 only 5%,
    so its probabilities understate class 2 on a face that shows it."""
    rng = np.random.default_rng(seed)
    prior = np.array([0.6, 0.35, 0.05])
    labels = rng.integers(0, 3, n)  # the users show every class equally often
    evidence = np.eye(3)[labels] * 1.5 + rng.normal(0, 1, (n, 3))
    probs = _softmax(evidence + np.log(prior))
    return probs.astype(np.float32), labels, prior


def test_a_prior_correction_gives_the_rare_class_back():
    probs, labels, prior = _long_tailed(3000, seed=2)
    assert apply_class_bias(probs, None) is probs
    rare = labels == 2
    before = (probs.argmax(axis=1)[rare] == 2).mean()
    corrected = apply_class_bias(probs, prior_bias(prior, 1.0))
    assert np.allclose(corrected.sum(axis=1), 1.0, atol=1e-5)
    assert (corrected.argmax(axis=1)[rare] == 2).mean() > before + 0.3
    assert np.isclose(prior_bias(prior, 1.0).mean(), 0.0, atol=1e-6)


def test_the_strength_is_bounded_by_what_it_costs_in_agreement():
    probs, labels, prior = _long_tailed(3000, seed=3)
    strength, table = choose_prior_strength(probs, labels, prior, max_cost=1.0)
    assert [row["strength"] for row in table] == list(PRIOR_STRENGTHS)
    best = max(table, key=lambda r: r["balanced_accuracy"])
    assert strength == best["strength"] > 0  # free to pay: the most balanced strength
    # judged on faces as skewed as the training ones, correcting costs agreement: a tight bound
    # keeps the chosen strength where plain accuracy stays within it
    skew = np.concatenate([np.flatnonzero(labels == 0)[:900], np.flatnonzero(labels == 1)[:500],
                           np.flatnonzero(labels == 2)[:70]])
    tight, table = choose_prior_strength(probs[skew], labels[skew], prior, max_cost=0.01)
    chosen = next(r for r in table if r["strength"] == tight)
    assert chosen["accuracy"] >= table[0]["accuracy"] - 0.01
    assert tight < strength
    with pytest.raises(ValueError, match="labelled"):
        choose_prior_strength(probs[:0], labels[:0], prior)


def test_a_shipped_class_bias_reaches_the_classifier_after_the_temperature(tiny_models_dir: Path, tmp_path: Path):
    from fer_core.model_zoo import load_model

    root = tmp_path / "models"
    shutil.copytree(tiny_models_dir, root)
    index = json.loads((root / "index.json").read_text())
    bias = [0.0, 2.0, 1.0, -1.0, 0.0, 0.5, -2.5]
    index["models"]["tiny"].update(temperature=0.7, class_bias=bias)
    (root / "index.json").write_text(json.dumps(index))
    faces = np.random.default_rng(1).random((4, 48, 48, 1), dtype=np.float32)
    raw = load_model("tiny", root=root, calibrated=False).predict(faces)
    expected = apply_class_bias(apply_temperature(raw, 0.7), np.array(bias))
    assert np.allclose(load_model("tiny", root=root).predict(faces), expected, atol=1e-5)
