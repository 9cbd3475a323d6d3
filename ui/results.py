"""Face results as table rows, CSV and JSON, for the Photo and Video file pages' downloads.

Pure (no Streamlit): one flat row per face, the same columns in the table, the CSV and, nested,
the JSON, so the three never disagree. The columns and the row of one face are the library's
face-row schema (`fer_core.face_rows`), the same as `python -m fer_core predict --csv/--json`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fer_core.face_rows import FACE_COLUMNS, PHOTO_COLUMNS, face_row, file_record, file_rows
from fer_core.labels import EMOTIONS
from fer_core.pipeline import FaceResult
from fer_core.video import AnalysedFrame

# one row per face per analysed frame: when it is, then the face
VIDEO_COLUMNS: tuple[str, ...] = ("frame", "time_s", *FACE_COLUMNS)


@dataclass(frozen=True)
class PhotoResult:
    """One analysed photo: its name and size, and the faces found (empty: none)."""

    file: str
    width: int
    height: int
    faces: tuple[FaceResult, ...]


def photo_rows(photos: Sequence[PhotoResult]) -> list[dict[str, Any]]:
    """One row per face of every photo; photos without a face have no row."""
    return [row for photo in photos for row in file_rows(photo.file, photo.faces)]


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
            file_record(p.file, p.width, p.height, p.faces) for p in photos
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


__all__ = ["FACE_COLUMNS", "PHOTO_COLUMNS", "VIDEO_COLUMNS", "PhotoResult", "face_row", "photo_json",
           "photo_rows", "to_csv", "video_rows"]
