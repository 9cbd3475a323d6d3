"""Face results as table rows, CSV and JSON, for the Photo and Video file pages' downloads.

Pure (no Streamlit): one flat row per face, the same columns in the table, the CSV and, nested,
the JSON, so the three never disagree."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fer_core.labels import EMOTIONS
from fer_core.pipeline import FaceResult
from fer_core.video import AnalysedFrame

FACE_COLUMNS: tuple[str, ...] = ("face", "emotion", "confidence", "x", "y", "width", "height",
                                 "detection_score", *EMOTIONS)
PHOTO_COLUMNS: tuple[str, ...] = ("file", *FACE_COLUMNS)
VIDEO_COLUMNS: tuple[str, ...] = ("frame", "time_s", *FACE_COLUMNS)
DIGITS = 4  # probabilities to 0.01 percentage points: more is noise


@dataclass(frozen=True)
class PhotoResult:
    """One analysed photo: its name and size, and the faces found (empty: none)."""

    file: str
    width: int
    height: int
    faces: tuple[FaceResult, ...]


def face_row(face: FaceResult) -> dict[str, Any]:
    x, y, w, h = face.box
    row: dict[str, Any] = {
        "face": int(face.face_id),
        "emotion": face.emotion,
        "confidence": round(face.confidence, DIGITS),
        "x": int(x), "y": int(y), "width": int(w), "height": int(h),
        "detection_score": round(float(face.detection_score), DIGITS),
    }
    row.update({name: round(p, DIGITS) for name, p in face.probability_dict().items()})
    return row


def photo_rows(photos: Sequence[PhotoResult]) -> list[dict[str, Any]]:
    """One row per face of every photo; photos without a face have no row."""
    return [{"file": photo.file, **face_row(face)} for photo in photos for face in photo.faces]


def video_rows(frames: Sequence[AnalysedFrame]) -> list[dict[str, Any]]:
    """One row per face per frame; a frame without any face gets one row with empty face
    fields, so the CSV also says when nobody was in view."""
    rows: list[dict[str, Any]] = []
    for record in frames:
        base = {"frame": record.index, "time_s": round(record.time_s, 3)}
        if not record.faces:
            rows.append({**base, **{column: None for column in FACE_COLUMNS}})
        rows.extend({**base, **face_row(face)} for face in record.faces)
    return rows


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """CSV text with a header row; None becomes an empty cell."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(row.get(key)) for key in columns})
    return buffer.getvalue()


def photo_json(photos: Sequence[PhotoResult], settings: Mapping[str, Any] | None = None) -> str:
    """All photos with their faces (FaceResult.as_dict) and the settings that produced them."""
    document = {
        "emotions": list(EMOTIONS),
        "settings": dict(settings or {}),
        "files": [
            {"file": p.file, "width": p.width, "height": p.height, "faces": [f.as_dict() for f in p.faces]}
            for p in photos
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    # user-chosen text (file names) starting like a formula would run as one in spreadsheets
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
