"""The one schema for face results as rows (CSV, tables) and records (JSON).

`python -m fer_core predict --csv/--json` and the app's downloads (Photo and Video file pages)
both write these columns in this order, so a file from one reads like a file from the other:

    file, face, emotion, confidence, x, y, width, height, detection_score, angry, ..., neutral

`face` is the face's number in its image, `emotion` the top emotion and `confidence` its
probability, `x, y, width, height` the face box in the image's pixels, `detection_score` how sure
the face detector was, then one probability per emotion in `fer_core.labels.EMOTIONS` order.
Scores and probabilities are rounded to 4 decimals, as in `FaceResult.as_dict()`, which is the
same face nested (box and probabilities as objects) for JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from fer_core.labels import EMOTIONS
from fer_core.pipeline import FaceResult

FACE_COLUMNS: Final[tuple[str, ...]] = ("face", "emotion", "confidence", "x", "y", "width", "height",
                                        "detection_score", *EMOTIONS)
# one row per face of a photo: which file it is in, then the face
PHOTO_COLUMNS: Final[tuple[str, ...]] = ("file", *FACE_COLUMNS)


def face_row(face: FaceResult) -> dict[str, Any]:
    """One face as a flat row with the keys of FACE_COLUMNS, in that order (JSON-ready numbers)."""
    d = face.as_dict()
    row: dict[str, Any] = {"face": int(d["face"]), "emotion": d["emotion"], "confidence": d["confidence"],
                           **d["box"], "detection_score": d["detection_score"], **d["probabilities"]}
    return {column: row[column] for column in FACE_COLUMNS}


def file_rows(file: str, faces: Iterable[FaceResult]) -> list[dict[str, Any]]:
    """One PHOTO_COLUMNS row per face found in `file` (none when it holds no face)."""
    return [{"file": file, **face_row(face)} for face in faces]


def file_record(file: str, width: int, height: int, faces: Iterable[FaceResult]) -> dict[str, Any]:
    """One photo for JSON: its name and size, and its faces as `FaceResult.as_dict()`."""
    return {"file": file, "width": int(width), "height": int(height), "faces": [f.as_dict() for f in faces]}


__all__ = ["FACE_COLUMNS", "PHOTO_COLUMNS", "face_row", "file_record", "file_rows"]
