"""The CPU training recipe's parts (Keras stays out of this process: loaded before aiortc it
crashes the suite, see conftest; the checks that need it run in tests/helpers/recipe_checks.py): the learning-rate schedule, NumPy augmentation, the
one-epoch-ahead feed, BatchNorm re-estimation for the EMA weights, and a --minutes run that
sizes itself and anneals to zero."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from fer_core.training.augment import AugmentConfig, augment_batch
from fer_core.training.schedule import distillation_targets, learning_rate
from tests.conftest import ROOT, run_cli, synthetic_faces


def test_schedule_warms_up_then_decays_linearly_to_zero():
    total, peak = 1000, 0.1
    lrs = np.array([learning_rate(s, total, peak, 0.15) for s in range(total)])
    assert lrs[0] == pytest.approx(peak / 150) and lrs.max() == pytest.approx(peak)
    assert int(np.argmax(lrs)) == 149
    assert np.all(np.diff(lrs[:150]) > 0) and np.all(np.diff(lrs[150:]) < 0)
    assert lrs[-1] == pytest.approx(peak / 850)  # one step from zero: the schedule always completes
    assert learning_rate(total, total, peak, 0.15) == 0.0


def _chiral_faces(n: int) -> np.ndarray:
    faces = np.zeros((n, 48, 48), np.uint8)
    faces[:, 10:38, 4:20] = 255  # a bright block on the left only
    return faces


def test_augmentation_off_is_the_model_input():
    from fer_core.preprocessing import to_model_input

    faces, _ = synthetic_faces(2, 0)
    out = augment_batch(faces, np.random.default_rng(0), AugmentConfig().scaled(0.0))
    np.testing.assert_allclose(out, to_model_input(faces), atol=1e-6)


def test_augmentation_is_seeded_in_range_and_flips():
    faces = _chiral_faces(400)
    cfg = AugmentConfig(flip=0.5, rotate_deg=0, scale=0, shift=0, brightness=0, contrast=0, erase=0)
    a = augment_batch(faces, np.random.default_rng(1), cfg)
    b = augment_batch(faces, np.random.default_rng(1), cfg)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (400, 48, 48, 1) and a.dtype == np.float32
    left = a[:, 10:38, 4:20, 0].mean(axis=(1, 2))
    right = a[:, 10:38, 28:44, 0].mean(axis=(1, 2))
    flipped = right > left
    assert 150 < flipped.sum() < 250  # about half mirrored
    np.testing.assert_array_equal(np.isclose(left, 1.0), ~flipped)

    full = augment_batch(faces, np.random.default_rng(2), AugmentConfig())
    assert full.min() >= 0.0 and full.max() <= 1.0
    assert not np.allclose(full, augment_batch(faces, np.random.default_rng(3), AugmentConfig()))


def test_random_erasing_erases_some_faces_only():
    faces = np.full((200, 48, 48), 128, np.uint8)
    cfg = AugmentConfig(flip=0, rotate_deg=0, scale=0, shift=0, brightness=0, contrast=0, erase=0.5)
    out = augment_batch(faces, np.random.default_rng(0), cfg)[..., 0]
    changed = np.abs(out - 128 / 255).max(axis=(1, 2)) > 1e-3
    assert 70 < changed.sum() < 130
    share = (np.abs(out[changed] - 128 / 255) > 1e-3).mean(axis=(1, 2))
    assert share.max() <= 0.2 + 1e-6 and share.min() > 0.0


def test_a_minutes_budget_sizes_the_run_and_anneals_to_zero(tmp_path, synthetic_data):
    run = tmp_path / "run"
    done = run_cli("train", "--arch", "plain_vgg", "--width", "4", "--data", str(synthetic_data), "--out",
                   str(run), "--minutes", "0.05", "--batch-size", "2", "--ema", "0.9")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "minutes is" in done.stdout
    state = json.loads((run / "state.json").read_text())
    assert state["epochs_run"] == state["total_epochs"] >= 1
    with (run / "history.csv").open() as fp:
        rows = list(csv.DictReader(fp))
    assert len(rows) == state["total_epochs"]
    total_steps = 42 * state["total_epochs"]  # 84 images in batches of 2
    assert float(rows[-1]["lr"]) == pytest.approx(learning_rate(total_steps - 1, total_steps, 0.1, 0.15))
    assert all(float(r["images_per_s"]) > 0 for r in rows)
    assert rows[-1]["ema_val_accuracy"] not in ("", "nan")  # the EMA was scored late in the run
    assert state["best_weights"] in ("raw", "ema")
    summary = json.loads((run / "train_config.json").read_text())
    assert summary["commands"][0].startswith("python -m fer_core train --arch plain_vgg")
    assert 0.0 <= summary["best_val_accuracy_flip_tta"] <= 1.0


def test_distillation_from_a_shipped_model_trains(tmp_path, synthetic_data, tiny_models_dir):
    run = tmp_path / "student"
    done = run_cli("train", "--arch", "plain_vgg", "--width", "4", "--data", str(synthetic_data), "--out", str(run),
                   "--epochs", "1", "--batch-size", "16", "--teacher", "tiny", "--teacher-weight", "0.7",
                   env={"FER_MODELS_DIR": str(tiny_models_dir)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((run / "train_config.json").read_text())["config"]["teacher"] == "tiny"
    bad = run_cli("train", "--arch", "plain_vgg", "--data", str(synthetic_data), "--out", str(tmp_path / "x"),
                  "--epochs", "1", "--teacher", "no_such_model", env={"FER_MODELS_DIR": str(tiny_models_dir)})
    assert bad.returncode == 1 and "unknown model 'no_such_model'" in bad.stderr



def test_teacher_targets_mix_labels_with_softened_probabilities():
    probs = np.tile([0.7, 0.1, 0.1, 0.05, 0.05, 0.0, 0.0], (2, 1))
    onehot = np.eye(7, dtype=np.float32)[[3, 0]]
    mixed = distillation_targets(probs, onehot, 0.5, 1.0)
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(mixed[0, 3], 0.5 + 0.5 * 0.05, atol=1e-5)
    flat = distillation_targets(probs, onehot, 0.5, 4.0)  # a higher temperature flattens the teacher
    assert flat[1, 0] < mixed[1, 0] and flat[1, 5] > mixed[1, 5]
    np.testing.assert_allclose(distillation_targets(probs, onehot, 0.0, 2.0), onehot)


@pytest.mark.parametrize("check", ["feed", "batchnorm", "batchnorm_momentum", "architecture_names", "teacher_uses_the_mix"])
def test_keras_side_of_the_recipe(check):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "tests.helpers.recipe_checks", check], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env={**__import__("os").environ,
                                                                             "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0 and done.stdout.strip().endswith(f"{check}: ok"), done.stderr[-3000:]


def test_the_command_line_and_predict_path_do_not_import_keras():
    import subprocess
    import sys

    probe = ("import sys; from fer_core.cli import build_parser; build_parser(); "
             "import fer_core.pipeline, fer_core.model_zoo, fer_core.training.schedule; print('keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr[-2000:]
