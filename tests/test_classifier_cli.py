"""The LiteRT classifier, the model zoo and `python -m fer_core predict`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_core.classifier import LiteRTClassifier, ModelNotFoundError, load_classifier
from fer_core.labels import EMOTIONS
from fer_core.model_zoo import get_model, list_models, load_model, read_index
from tests.conftest import run_cli


def _faces(n, seed=0):
    return np.random.default_rng(seed).random((n, 48, 48, 1), dtype=np.float32)


def test_batches_of_any_size_give_the_same_answers(tiny_classifier):
    faces = _faces(5)
    together = tiny_classifier.predict(faces)
    assert together.shape == (5, 7)
    np.testing.assert_allclose(together.sum(axis=1), 1.0, atol=1e-5)
    one_by_one = np.concatenate([tiny_classifier.predict(faces[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    assert tiny_classifier.predict(np.zeros((0, 48, 48, 1), np.float32)).shape == (0, 7)


def test_flip_tta_is_the_mean_of_face_and_mirror(tiny_models_dir):
    plain = load_model("tiny", root=tiny_models_dir)
    tta = load_model("tiny", root=tiny_models_dir, flip_tta=True)
    faces = _faces(3, seed=1)
    expected = (plain.predict(faces) + plain.predict(faces[:, :, ::-1])) / 2
    np.testing.assert_allclose(tta.predict(faces), expected, atol=1e-5)


def test_wrong_input_shape_is_a_clear_error(tiny_classifier):
    with pytest.raises(ValueError, match=r"\(N, 48, 48, 1\)"):
        tiny_classifier.predict(np.zeros((2, 64, 64, 1), np.float32))


def test_missing_or_broken_model_files(tmp_path):
    with pytest.raises(ModelNotFoundError, match="No LiteRT"):
        LiteRTClassifier(tmp_path / "nope.tflite")
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"not a flatbuffer at all")
    with pytest.raises(ModelNotFoundError, match="not a valid"):
        LiteRTClassifier(broken)
    with pytest.raises(ValueError, match="unknown model file type"):
        load_classifier(tmp_path / "model.onnx")


def test_zoo_lists_the_tiny_model_with_its_files(tiny_models_dir):
    assert read_index(tiny_models_dir)["default"] == "tiny"
    (info,) = list_models(tiny_models_dir)
    metrics = info.metrics()
    assert metrics["dataset"]["split"] == "PrivateTest"
    assert metrics["count"] == 28 and len(metrics["confusion_matrix"]) == 7
    assert set(metrics["variants"]) >= {"flip_tta", "int8"}
    assert (info.folder / "model.tflite").is_file() and not (info.folder / "model.keras").exists()
    assert len(info.history()) == 2 and "val_accuracy" in info.history()[0]
    card = info.card()
    assert "EU AI Act" in card and "Article 5(1)(f)" in card
    assert f"{100 * metrics['accuracy']:.2f}%" in card  # the card quotes the evaluation
    assert "python -m fer_core train --arch mini_xception" in card  # and the exact command


def test_no_models_installed_or_unknown_name_is_a_clear_error(tmp_path, tiny_models_dir):
    with pytest.raises(ModelNotFoundError, match="No model is installed"):
        load_model(root=tmp_path)
    with pytest.raises(ModelNotFoundError, match="unknown model 'nope'; installed: tiny"):
        get_model("nope", root=tiny_models_dir)
    with pytest.raises(ModelNotFoundError, match="no quantized variant"):
        (tiny_models_dir / "tiny" / "model_int8.tflite").rename(tmp_path / "int8.tflite")
        try:
            load_model("tiny", runtime="int8", root=tiny_models_dir)
        finally:
            (tmp_path / "int8.tflite").rename(tiny_models_dir / "tiny" / "model_int8.tflite")


@pytest.fixture(scope="module")
def photo(tmp_path_factory, astronaut) -> Path:
    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    return path


def test_cli_predict_text_json_csv_and_annotate(tiny_models_dir, photo, tmp_path):
    env = {"FER_MODELS_DIR": str(tiny_models_dir)}
    text = run_cli("predict", str(photo), env=env)
    assert text.returncode == 0, text.stderr
    assert "astronaut.png: 1 face" in text.stdout and "#1 " in text.stdout

    as_json = run_cli("predict", str(photo), "--json", "--annotate", str(tmp_path / "out"), env=env)
    assert as_json.returncode == 0, as_json.stderr
    (record,) = json.loads(as_json.stdout)
    assert record["width"] == 512 and len(record["faces"]) == 1
    assert set(record["faces"][0]["probabilities"]) == set(EMOTIONS)
    annotated = cv2.imread(str(tmp_path / "out" / "astronaut_annotated.png"))
    assert annotated.shape == (512, 512, 3)
    assert not np.array_equal(annotated, cv2.imread(str(photo)))

    as_csv = run_cli("predict", str(photo.parent), "--csv", env=env)  # a folder
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == 1 and rows[0]["face"] == "1"
    assert sum(float(rows[0][e]) for e in EMOTIONS) == pytest.approx(1.0, abs=1e-3)


def test_cli_bad_inputs_exit_non_zero_with_one_line(tiny_models_dir, photo, tmp_path):
    env = {"FER_MODELS_DIR": str(tiny_models_dir)}
    missing = run_cli("predict", str(tmp_path / "nope.jpg"), env=env)
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0 and "does not exist" in missing.stderr

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    mixed = run_cli("predict", str(photo), str(bad), env=env)
    assert mixed.returncode == 2
    assert "astronaut.png: 1 face" in mixed.stdout  # the good file still got its answer
    assert mixed.stderr.startswith("error: ") and mixed.stderr.strip().count("\n") == 0

    no_model = run_cli("predict", str(photo), env={"FER_MODELS_DIR": str(tmp_path / "empty")})
    assert no_model.returncode == 1 and "No model is installed" in no_model.stderr

    tiny = tmp_path / "tiny.png"  # 1x1 pixel: too small for a face, a message and no traceback
    cv2.imwrite(str(tiny), np.zeros((1, 1, 3), np.uint8))
    one_pixel = run_cli("predict", str(tiny), env=env)
    assert one_pixel.returncode == 2 and "Traceback" not in one_pixel.stderr
    assert one_pixel.stderr.startswith("error: ") and "too small" in one_pixel.stderr


def test_cli_face_crops_mode_skips_detection(tiny_models_dir, tmp_path):
    from tests.conftest import synthetic_faces

    images, _ = synthetic_faces(1, 0)
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"crop{i}.png"), images[i])
    plain = run_cli("predict", str(tmp_path), "--json", env={"FER_MODELS_DIR": str(tiny_models_dir)})
    assert all(not r["faces"] for r in json.loads(plain.stdout))  # no detector finds a stripe pattern
    crops = run_cli("predict", str(tmp_path), "--json", "--face-crops", env={"FER_MODELS_DIR": str(tiny_models_dir)})
    records = json.loads(crops.stdout)
    assert [len(r["faces"]) for r in records] == [1, 1, 1]
    assert records[0]["faces"][0]["box"] == {"x": 0, "y": 0, "width": 48, "height": 48}


def test_cli_predict_options_change_what_runs(tiny_models_dir, photo, tmp_path):
    """--runtime, --detector, --min-score and --no-flip-tta each reach the pipeline: the
    answers differ where they must and the bad values get one line each."""
    env = {"FER_MODELS_DIR": str(tiny_models_dir)}

    def faces(*options: str) -> list[dict]:
        result = run_cli("predict", str(photo), "--json", *options, env=env)
        assert result.returncode == 0, result.stderr
        (record,) = json.loads(result.stdout)
        return record["faces"]

    plain, flipped = faces("--no-flip-tta"), faces("--flip-tta")
    assert plain[0]["box"] == flipped[0]["box"] and plain[0]["probabilities"] != flipped[0]["probabilities"]
    haar = faces("--detector", "haar")
    assert len(haar) == 1 and haar[0]["box"] != plain[0]["box"]  # another detector, another box
    assert faces("--min-score", "0.999") == []  # nothing is that sure of the astronaut's face
    if (tiny_models_dir / "tiny" / "model_int8.tflite").is_file():
        int8 = faces("--runtime", "int8", "--no-flip-tta")
        assert int8[0]["box"] == plain[0]["box"] and int8[0]["probabilities"] != plain[0]["probabilities"]
    else:  # export found it lost accuracy and did not ship it: a clear message
        no_int8 = run_cli("predict", str(photo), "--runtime", "int8", env=env)
        assert no_int8.returncode == 1 and "no quantized variant" in no_int8.stderr
    bad = run_cli("predict", str(photo), "--min-score", "1.5", env=env)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "min_score" in bad.stderr


def test_cli_evaluate_and_select_default_on_the_tiny_zoo(tiny_models_dir, synthetic_data, tmp_path):
    import shutil

    root = tmp_path / "models"
    shutil.copytree(tiny_models_dir, root)
    env = {"FER_MODELS_DIR": str(root)}
    evaluated = run_cli("evaluate", "tiny", "--data", str(synthetic_data), "--no-timing", env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads((root / "tiny" / "metrics.json").read_text())
    assert metrics["count"] == 28 and 0.0 <= metrics["accuracy"] <= 1.0
    chosen = run_cli("select-default", env=env)
    assert chosen.returncode == 0, chosen.stderr
    index = json.loads((root / "index.json").read_text())
    assert index["default"] == "tiny" and "PublicTest" in index["default_rule"]
    # tiny has no FER+ figures (no votes beside the synthetic data): the rule says what it fell back to
    votes = run_cli("select-default", "--benchmark", "ferplus", env=env)
    assert votes.returncode == 0 and "highest FER2013 accuracy on PublicTest" in votes.stdout
    floor = tmp_path / "fer_floor.json"
    floor.write_text(json.dumps({"publictest_accuracy": 1.01, "source": "an unreachable floor"}))
    refused = run_cli("select-default", "--fer2013-floor", str(floor), env=env)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr and "below it: tiny" in refused.stderr
    missing = run_cli("select-default", "--fer2013-floor", str(tmp_path / "none.json"), env=env)
    assert missing.returncode == 1 and "python -m bench.tables.fer_floor" in missing.stderr
    (root / "tiny" / "metrics.json").unlink()
    none_left = run_cli("select-default", env=env)
    assert none_left.returncode == 1 and "Traceback" not in none_left.stderr and "evaluate one first" in none_left.stderr
