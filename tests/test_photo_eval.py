"""End-to-end evaluation on labelled photos (fer_core.photo_eval and `python -m fer_core
evaluate-photos`), on photo folders the tests draw themselves from scikit-image's astronaut:
never the dev set or FER2013."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_core.detection import create_detector
from fer_core.labels import EMOTIONS
from fer_core.photo_eval import (
    NO_FACE,
    NOT_FOUND,
    PhotoSetError,
    dataset_name,
    evaluate_photos,
    list_photos,
    photos_file,
    score_photos,
)
from fer_core.pipeline import FaceAnalyzer
from tests.conftest import run_cli

HAPPY, SAD, NEUTRAL = EMOTIONS.index("happy"), EMOTIONS.index("sad"), EMOTIONS.index("neutral")


class AlwaysHappy:
    """A classifier stub that answers happy for every face (and counts the faces it saw)."""

    name = "always-happy"

    def __init__(self) -> None:
        self.seen = 0

    def predict(self, faces: np.ndarray) -> np.ndarray:
        assert faces.shape[1:] == (48, 48, 1)
        self.seen += len(faces)
        out = np.zeros((len(faces), len(EMOTIONS)), np.float32)
        out[:, HAPPY] = 1.0
        return out


def _write(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


@pytest.fixture()
def photo_set(tmp_path: Path, astronaut: np.ndarray) -> Path:
    """happy: 2 photos of a face; neutral: 1; sad: 1 face + 1 blank wall (no face). Plus files
    that are not photos of a class (a README at the top, a text file in a class folder)."""
    root = tmp_path / "my_photos"
    _write(root / "happy" / "a.jpg", astronaut)
    _write(root / "happy" / "b.png", np.ascontiguousarray(astronaut[:, ::-1]))
    _write(root / "neutral" / "c.jpg", astronaut)
    _write(root / "sad" / "d.jpg", astronaut)
    _write(root / "sad" / "wall.jpg", np.full((240, 320, 3), 200, np.uint8))
    (root / "README.md").write_text("not a photo")
    (root / "sad" / "notes.txt").write_text("not a photo either")
    return root


# --- the folder ---------------------------------------------------------------------------------


def test_photos_are_labelled_by_their_class_folder(photo_set: Path):
    photos = list_photos(photo_set)
    assert [(p.path.name, EMOTIONS[p.label]) for p in photos] == [
        ("a.jpg", "happy"), ("b.png", "happy"), ("c.jpg", "neutral"), ("d.jpg", "sad"), ("wall.jpg", "sad")]
    assert dataset_name(photo_set) == "my_photos"
    assert photos_file(Path("models/x"), "my photos!") == Path("models/x/photos_my_photos_.json")


def test_missing_folder_is_a_clear_error(tmp_path: Path):
    with pytest.raises(PhotoSetError, match="does not exist"):
        list_photos(tmp_path / "nowhere")


def test_empty_folder_is_a_clear_error(tmp_path: Path):
    (tmp_path / "happy").mkdir()
    with pytest.raises(PhotoSetError, match="holds no photos"):
        list_photos(tmp_path)


def test_unknown_class_folder_is_named(tmp_path: Path, astronaut: np.ndarray):
    _write(tmp_path / "happy" / "a.jpg", astronaut)
    _write(tmp_path / "joy" / "b.jpg", astronaut)
    with pytest.raises(PhotoSetError, match="unknown class folder.*'joy'"):
        list_photos(tmp_path)


# --- scoring ------------------------------------------------------------------------------------


def test_scores_count_a_photo_without_a_face_as_wrong():
    angry, happy = EMOTIONS.index("angry"), HAPPY
    result = score_photos([angry, angry, happy, happy], [angry, NOT_FOUND, happy, angry])
    assert result["photos"] == 4 and result["faces_found"] == 3
    assert result["accuracy"] == 0.5
    assert result["accuracy_on_found_faces"] == pytest.approx(2 / 3)
    assert result["per_class"]["angry"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert result["per_class"]["happy"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    # macro-F1 over the classes the set holds (a class with no photos says nothing)
    assert result["macro_f1"] == pytest.approx((0.5 + 2 / 3) / 2)
    cm = np.array(result["confusion_matrix"])
    assert cm.shape == (7, 8) and result["predicted_labels"][-1] == NO_FACE
    assert cm[angry, angry] == 1 and cm[angry, 7] == 1 and cm[happy, angry] == 1 and cm.sum() == 4


def test_evaluation_runs_the_pipeline_on_the_largest_face(photo_set: Path):
    classifier = AlwaysHappy()
    report = evaluate_photos(FaceAnalyzer(create_detector(), classifier), list_photos(photo_set), dataset="mine")
    assert classifier.seen == 4  # one face per photo with a face; none for the wall
    assert report["faces_found"] == 4 and report["photos"] == 5
    assert report["accuracy"] == pytest.approx(2 / 5)  # the two happy photos
    assert report["per_class"]["sad"]["recall"] == 0.0
    assert report["confusion_matrix"][SAD][7] == 1  # the wall: no face
    assert report["dataset"]["name"] == "mine" and report["dataset"]["per_class"]["happy"] == 2
    assert report["pipeline"]["framing"]["scale"] > 0
    assert "path" not in json.dumps(report)  # no per-photo record leaves the function


# --- the command --------------------------------------------------------------------------------


def test_command_writes_the_json_beside_the_model(photo_set: Path, tiny_models_dir: Path, tmp_path: Path):
    models = tmp_path / "models"
    import shutil

    shutil.copytree(tiny_models_dir, models)
    proc = run_cli("evaluate-photos", str(photo_set), "--model", "tiny", env={"FER_MODELS_DIR": str(models)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = models / "tiny" / "photos_my_photos.json"
    report = json.loads(out.read_text())
    assert report["dataset"]["name"] == "my_photos" and report["model"] == "tiny"
    assert report["photos"] == 5 and report["faces_found"] == 4
    assert 0.0 <= report["accuracy"] <= 0.8  # the wall is always wrong
    assert set(report["per_class"]) == set(EMOTIONS)
    assert np.array(report["confusion_matrix"]).sum() == 5
    assert report["written_by"].startswith("python -m fer_core evaluate-photos")
    assert "faces found 4/5" in proc.stdout and str(out) in proc.stdout

    elsewhere = tmp_path / "out" / "r.json"
    proc = run_cli("evaluate-photos", str(photo_set), "--out", str(elsewhere), env={"FER_MODELS_DIR": str(models)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(elsewhere.read_text())["accuracy"] == report["accuracy"]  # deterministic


@pytest.mark.parametrize("make, message", [
    (lambda root: None, "does not exist"),
    (lambda root: (root / "happy").mkdir(parents=True), "holds no photos"),
    (lambda root: (root / "Happiness").mkdir(parents=True), "unknown class folder"),
])
def test_command_errors_are_one_line(tmp_path: Path, make, message):
    root = tmp_path / "set"
    make(root)
    proc = run_cli("evaluate-photos", str(root), env={"FER_MODELS_DIR": str(tmp_path / "no_models")})
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and message in proc.stderr and "Traceback" not in proc.stderr
