"""`python -m fer_core predict PATH...`: every face in photos, as text, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

from fer_core.errors import FerError
from fer_core.face_rows import PHOTO_COLUMNS, file_record, file_rows
from fer_core.image_io import IMAGE_SUFFIXES, load_image
from fer_core.pipeline import FaceAnalyzer, FaceResult

T = TypeVar("T")

PROGRESS_FROM = 5  # show a progress bar from this many files on


class InputError(FerError, ValueError):
    """A path on the command line is not something we can read."""


def expand_paths(paths: Sequence[str]) -> list[Path]:
    """Files as given, folders expanded to their images (recursively, sorted)."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise InputError(f"{p} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise InputError(f"{p} does not exist")
    return files


def progress(files: Iterable[T]) -> Iterator[T]:
    """The items, with a progress bar on stderr from PROGRESS_FROM items on."""
    yield from _progress(list(files))


def _progress(files: list[T]) -> Iterator[T]:
    if len(files) < PROGRESS_FROM:
        yield from files
        return
    from tqdm import tqdm

    yield from tqdm(files, unit="image", file=sys.stderr)


# the columns of `--csv`: the face-row schema the app's downloads use too (fer_core.face_rows)
CSV_FIELDS: list[str] = list(PHOTO_COLUMNS)


def text_lines(path: Path, faces: list[FaceResult]) -> list[str]:
    lines = [f"{path}: {len(faces)} face{'s' if len(faces) != 1 else ''}" + ("" if faces else " found")]
    for f in faces:
        ranked = sorted(f.probability_dict().items(), key=lambda kv: -kv[1])
        rest = ", ".join(f"{k} {v:.0%}" for k, v in ranked[1:4])
        x, y, w, h = f.box
        lines.append(f"  #{f.face_id} {f.emotion} {f.confidence:.0%} at x={x} y={y} w={w} h={h} ({rest})")
    return lines


def run_predict(analyzer: FaceAnalyzer, paths: Sequence[str], *, fmt: str = "text",
                annotate: str | None = None, face_crops: bool = False, out: TextIO | None = None,
                err: TextIO | None = None) -> int:
    """Returns the exit code: 0 when every file was read, 2 when some could not be."""
    out, err = out or sys.stdout, err or sys.stderr
    files = expand_paths(paths)
    failures = 0
    records: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    if annotate:
        Path(annotate).mkdir(parents=True, exist_ok=True)
    for path in _progress(files):
        # Only user-facing errors (fer_core.errors.FerError) are that file's error; anything else
        # is a bug and propagates, as everywhere in the CLI, with its traceback.
        try:
            image = load_image(path)
        except FerError as exc:  # ImageLoadError: missing, damaged, not an image, too large
            failures += 1
            print(f"error: {exc}", file=err)
            continue
        try:
            faces = [analyzer.analyze_crop(image)] if face_crops else analyzer.analyze(image)
        except FerError as exc:  # e.g. an image too small to hold a face: that file's error, not a crash
            failures += 1
            print(f"error: {path}: {exc}", file=err)
            continue
        if fmt == "json":
            records.append(file_record(str(path), image.shape[1], image.shape[0], faces))
        elif fmt == "csv":
            rows.extend(file_rows(str(path), faces))
        else:
            print("\n".join(text_lines(path, faces)), file=out)
        if annotate:
            from fer_core.drawing import draw_faces
            from fer_core.image_io import encode_png

            (Path(annotate) / f"{path.stem}_annotated.png").write_bytes(encode_png(draw_faces(image, faces)))
    if fmt == "json":
        json.dump(records, out, indent=1)
        out.write("\n")
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        out.write(buf.getvalue())
    return 2 if failures else 0
