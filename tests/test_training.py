"""Training: every architecture trains a step and round-trips train -> export -> load ->
predict; resuming continues a run; the loaders read both dataset layouts."""

from __future__ import annotations

import ast
import csv
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fer_core.classifier import LiteRTClassifier
from fer_core.labels import EMOTIONS
from fer_core.training.data import DatasetError, class_weights, load_dataset, write_image_folder
from tests.conftest import ROOT, run_cli, synthetic_faces

ARCHS = ("baseline_cnn", "dcnn", "mini_xception", "vgg_bn", "mobilenet_v2", "plain_vgg")


@pytest.fixture(scope="module")
def roundtrip_dir(tmp_path_factory, synthetic_data) -> Path:
    out = tmp_path_factory.mktemp("roundtrip")
    proc = subprocess.run([sys.executable, "-m", "tests.helpers.roundtrip", str(synthetic_data), str(out)],
                          cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.parametrize("arch", ARCHS)
def test_architecture_round_trip(roundtrip_dir, arch):
    run = roundtrip_dir / arch
    summary = json.loads((run / "train_config.json").read_text())
    assert summary["config"]["arch"] == arch and summary["epochs_run"] == 1
    assert summary["parameters"] > 0
    assert summary["command"].startswith(f"python -m fer_core train --arch {arch}")
    with (run / "history.csv").open() as fp:
        (row,) = list(csv.DictReader(fp))
    assert 0.0 <= float(row["val_accuracy"]) <= 1.0
    faces = np.load(roundtrip_dir / "faces.npy")
    litert = LiteRTClassifier(run / "model.tflite").predict(faces)
    np.testing.assert_allclose(litert, np.load(run / "keras_probs.npy"), atol=1e-4)
    np.testing.assert_allclose(litert.sum(axis=1), 1.0, atol=1e-4)


def test_resume_continues_where_the_run_stopped(tmp_path, synthetic_data):
    args = ["train", "--arch", "baseline_cnn", "--data", str(synthetic_data), "--out", str(tmp_path),
            "--batch-size", "32", "--limit", "64"]
    first = run_cli(*args, "--epochs", "1")
    assert first.returncode == 0, first.stderr[-2000:]
    second = run_cli(*args, "--epochs", "2", "--resume")
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resuming baseline_cnn after epoch 1" in second.stdout
    with (tmp_path / "history.csv").open() as fp:
        assert [r["epoch"] for r in csv.DictReader(fp)] == ["0", "1"]
    assert json.loads((tmp_path / "state.json").read_text())["epochs_run"] == 2


def _tensorflow_imports(tree: ast.AST) -> list[ast.AST]:
    return [n for n in ast.walk(tree)
            if (isinstance(n, ast.Import) and any(a.name.split(".")[0] == "tensorflow" for a in n.names))
            or (isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "tensorflow")]


def test_model_code_is_backend_agnostic():
    """No TensorFlow in models, augmentation or the loop, so they run under JAX and PyTorch;
    train.py may ask TensorFlow about GPUs inside gpu_present() and nowhere else."""
    for name in ("architectures.py", "augment.py", "train.py"):
        tree = ast.parse((ROOT / "fer_core" / "training" / name).read_text())
        found = _tensorflow_imports(tree)
        if name == "train.py":
            (gpu,) = [f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == "gpu_present"]
            assert found == _tensorflow_imports(gpu) and len(found) == 1
        else:
            assert not found, name


def test_official_split_from_prefixes(synthetic_data):
    ds = load_dataset(synthetic_data)
    assert [len(ds[s]) for s in ("train", "val", "test")] == [84, 28, 28]
    assert "official" in ds.split_note


def test_folder_without_prefixes_gets_a_stratified_carve_out(tmp_path):
    images, labels = synthetic_faces(10, 0)
    write_image_folder(tmp_path, images, labels, ["img"] * len(labels))
    test_images, test_labels = synthetic_faces(2, 1)
    write_image_folder(tmp_path, test_images, test_labels, ["PrivateTest"] * len(test_labels))
    ds = load_dataset(tmp_path, val_fraction=0.2)
    assert len(ds["train"]) == 56 and len(ds["val"]) == 14 and len(ds["test"]) == 14
    assert np.bincount(ds["val"].labels).tolist() == [2] * 7  # every class carved alike


def test_challenge_csv(tmp_path):
    images, labels = synthetic_faces(2, 0)
    path = tmp_path / "fer2013.csv"
    with path.open("w", newline="") as fp:
        w = csv.writer(fp)
        w.writerow(["emotion", "pixels", "Usage"])
        for i, (img, y) in enumerate(zip(images, labels)):
            w.writerow([y, " ".join(map(str, img.ravel())), ("Training", "PublicTest")[i % 2]])
    ds = load_dataset(path)
    assert len(ds["train"]) == 7 and len(ds["val"]) == 7
    np.testing.assert_array_equal(ds["train"].images[0], images[0])
    path.write_text("emotion,Usage\n0,Training\n")
    with pytest.raises(DatasetError, match="pixels"):
        load_dataset(path)


def test_challenge_csv_private_test_rows_and_bad_rows(tmp_path):
    face = " ".join(["128"] * 2304)
    path = tmp_path / "fer2013.csv"
    path.write_text(f"emotion,pixels,Usage\n3,{face},Training\n6,{face},PrivateTest\n0,{face},\n")
    ds = load_dataset(path)
    assert ds["test"].labels.tolist() == [6] and ds["train"].labels.tolist() == [3, 0]  # no Usage: Training
    bad_rows = {
        f"7,{face},Training": "emotion 7 is not one of 0..6",
        f"-1,{face},Training": "emotion -1",
        f"happy,{face},Training": "whole numbers",
        f"3,{' '.join(['1'] * 2303)},Training": "expected 2304 pixels, got 2303",
        f"3,{' '.join(['256'] * 2304)},Training": "0..255",
        f"3,{' '.join(['x'] * 2304)},Training": "whole numbers",
        f"3,{face},Validation": "unknown Usage 'Validation'",
    }
    for row, message in bad_rows.items():
        path.write_text(f"emotion,pixels,Usage\n3,{face},Training\n{row}\n")
        with pytest.raises(DatasetError, match=f"fer2013.csv:3: .*{re.escape(message)}"):
            load_dataset(path)


def test_bad_data_paths(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nope")
    with pytest.raises(DatasetError, match="no train/ folder"):
        load_dataset(tmp_path)


def test_class_weights_lift_rare_classes():
    labels = np.array([3] * 100 + [1] * 4 + [0] * 25 + [2, 4, 5, 6] * 25)
    w = class_weights(labels, 0.5)
    assert w[1] == pytest.approx(5 * w[3])  # sqrt(100 / 4)
    counts = np.bincount(labels)
    assert sum(w[i] * counts[i] for i in range(len(EMOTIONS))) / counts.sum() == pytest.approx(1.0)
    assert set(class_weights(labels, 0.0).values()) == {1.0}


def test_same_command_trains_under_the_pytorch_backend_and_exports_under_tensorflow(tmp_path, synthetic_data):
    if importlib.util.find_spec("torch") is None:  # found, not imported: the test process stays light
        pytest.skip("PyTorch is optional (requirements-torch.txt): FER_WITH_TORCH=1 scripts/install.sh dev")
    run = tmp_path / "run"
    trained = run_cli("train", "--arch", "mini_xception", "--data", str(synthetic_data), "--out", str(run),
                      "--epochs", "1", "--batch-size", "16", env={"KERAS_BACKEND": "torch"})
    assert trained.returncode == 0, trained.stderr[-2000:]
    summary = json.loads((run / "train_config.json").read_text())
    assert summary["hardware"][-1].endswith("on torch")  # one entry per (resumed) session
    exported = subprocess.run(
        [sys.executable, "-c", "import sys; from fer_core.training.export import export_tflite; "
                               "export_tflite(sys.argv[1], sys.argv[2])", str(run / "best.keras"), str(run / "m.tflite")],
        cwd=ROOT, env={**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True, text=True, timeout=300)
    assert exported.returncode == 0, exported.stderr[-2000:]
    probs = LiteRTClassifier(run / "m.tflite").predict(synthetic_faces(1, 0)[0][:, :, :, None] / 255.0)
    assert probs.shape == (7, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
