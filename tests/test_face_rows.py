"""One face-row schema (fer_core.face_rows) for `predict --csv/--json` and the app's downloads,
and `predict` reporting only user-facing errors (FerError) as a file's error."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_core.errors import UnusableImageError
from fer_core.face_rows import FACE_COLUMNS, PHOTO_COLUMNS, face_row
from fer_core.labels import EMOTIONS
from fer_core.pipeline import FaceResult
from fer_core.predict_cli import run_predict
from ui.results import PhotoResult, photo_json, photo_rows, to_csv


def _face(face_id: int = 1, top: int = 3) -> FaceResult:
    probs = np.full(len(EMOTIONS), 0.05)
    probs[top] = 0.7
    return FaceResult(face_id, (12, 20, 30, 40), 0.875, probs)


class _StubAnalyzer:
    """Answers every image with the same faces, without loading a model."""

    def __init__(self, faces: list[FaceResult]) -> None:
        self.faces = faces

    def analyze(self, image: np.ndarray) -> list[FaceResult]:
        return list(self.faces)

    def analyze_crop(self, image: np.ndarray) -> FaceResult:
        return self.faces[0]


@pytest.fixture()
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), np.full((64, 64, 3), 128, np.uint8))
    return path


def _predict(analyzer: object, paths: list[str], fmt: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_predict(analyzer, paths, fmt=fmt, out=out, err=err)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def test_face_row_is_the_schema_in_order_and_matches_as_dict():
    face = _face()
    row = face_row(face)
    assert tuple(row) == FACE_COLUMNS
    assert FACE_COLUMNS[-len(EMOTIONS):] == EMOTIONS
    d = face.as_dict()
    assert row["emotion"] == d["emotion"] == "happy" and row["confidence"] == d["confidence"] == 0.7
    assert (row["x"], row["y"], row["width"], row["height"]) == (12, 20, 30, 40)
    assert {e: row[e] for e in EMOTIONS} == d["probabilities"]


def test_cli_csv_and_the_app_download_have_the_same_header_and_rows(photo):
    code, cli_csv, err = _predict(_StubAnalyzer([_face(1, 3), _face(2, 0)]), [str(photo)], "csv")
    assert code == 0, err
    app_csv = to_csv(photo_rows([PhotoResult(str(photo), 64, 64, (_face(1, 3), _face(2, 0)))]), PHOTO_COLUMNS)
    cli_header = next(csv.reader(io.StringIO(cli_csv)))
    app_header = next(csv.reader(io.StringIO(app_csv)))
    assert cli_header == app_header == list(PHOTO_COLUMNS)
    assert list(csv.DictReader(io.StringIO(cli_csv))) == list(csv.DictReader(io.StringIO(app_csv)))


def test_cli_json_records_are_the_app_download_records(photo):
    faces = [_face(1, 3)]
    code, cli_json, err = _predict(_StubAnalyzer(faces), [str(photo)], "json")
    assert code == 0, err
    app = json.loads(photo_json([PhotoResult(str(photo), 64, 64, tuple(faces))]))
    assert json.loads(cli_json) == app["files"]


def test_a_user_facing_error_is_that_files_error(photo, monkeypatch):
    analyzer = _StubAnalyzer([_face()])

    def unusable(image):
        raise UnusableImageError("image of 1x1 px is too small to hold a face")

    monkeypatch.setattr(analyzer, "analyze", unusable)
    code, out, err = _predict(analyzer, [str(photo)], "text")
    assert code == 2 and out == "" and err.startswith(f"error: {photo}: ") and "too small" in err


def test_a_bug_in_the_analysis_is_not_reported_as_the_files_error(photo, monkeypatch):
    """A bare ValueError is a bug: it surfaces (the CLI's main prints its traceback) instead of
    being printed as if the photo were at fault."""
    analyzer = _StubAnalyzer([_face()])

    def buggy(image):
        raise ValueError("operands could not be broadcast together")

    monkeypatch.setattr(analyzer, "analyze", buggy)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(ValueError, match="broadcast"):
        run_predict(analyzer, [str(photo)], out=out, err=err)  # type: ignore[arg-type]
    assert err.getvalue() == ""
