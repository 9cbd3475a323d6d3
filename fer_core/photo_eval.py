"""End-to-end accuracy on labelled photos: detector -> crop -> classifier, as the app runs them.

    photos = list_photos("../shared/data/expressions_dev")     # DIR/<emotion>/*.jpg
    report = evaluate_photos(FaceAnalyzer(detector, classifier), photos, dataset="expressions_dev")

One label per photo: the largest face found is classified; a photo where no face is found (or
that cannot be read) counts as wrong, in a "no face" column of the confusion matrix. Only the
aggregate numbers are returned: nothing per photo, so no result about a person is stored.
Pure library code (no Streamlit); `python -m fer_core evaluate-photos` is the command.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fer_core.errors import FerError
from fer_core.image_io import IMAGE_SUFFIXES, ImageLoadError, load_image
from fer_core.labels import EMOTIONS, NO_FACE, NUM_CLASSES
from fer_core.metrics import confusion_matrix, per_class_scores
from fer_core.pipeline import FaceAnalyzer, largest_face

NOT_FOUND = NUM_CLASSES  # prediction index of a photo without a usable face
PHOTOS_FILE_PREFIX = "photos_"  # models/<name>/photos_<dataset>.json


class PhotoSetError(FerError, ValueError):
    """The photo folder cannot be evaluated; the message says why and what is expected."""


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    label: int  # index into EMOTIONS


def list_photos(root: str | Path) -> list[LabelledPhoto]:
    """Every image under root/<emotion>/ (any depth), labelled by its class folder. Files lying
    directly in root (a README, a labels table) and hidden folders are ignored."""
    root = Path(root)
    if not root.exists():
        raise PhotoSetError(f"{root} does not exist; expected a folder with one sub-folder per emotion "
                            f"({', '.join(EMOTIONS)})")
    if not root.is_dir():
        raise PhotoSetError(f"{root} is not a folder; expected one sub-folder per emotion ({', '.join(EMOTIONS)})")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [p.name for p in folders if p.name.strip().lower() not in EMOTIONS]
    if unknown:
        raise PhotoSetError(f"{root}: unknown class folder(s) {', '.join(repr(n) for n in unknown)}; "
                            f"class folders must be named {', '.join(EMOTIONS)}")
    photos = [
        LabelledPhoto(path, EMOTIONS.index(folder.name.strip().lower()))
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not photos:
        raise PhotoSetError(f"{root} holds no photos in class folders ({', '.join(EMOTIONS)}); "
                            f"image types: {', '.join(sorted(IMAGE_SUFFIXES))}")
    return photos


def score_photos(labels: Sequence[int], predictions: Sequence[int]) -> dict[str, Any]:
    """Aggregate end-to-end scores. `predictions` holds an EMOTIONS index, or NOT_FOUND."""
    y_true = np.asarray(labels, dtype=np.int64)
    y_pred = np.asarray(predictions, dtype=np.int64)
    if y_true.shape != y_pred.shape or not len(y_true):
        raise ValueError(f"need as many predictions as labels (and at least one); got {y_pred.shape}, {y_true.shape}")
    # rows: true emotion; columns: the 7 emotions then "no face" (which costs recall, not precision)
    cm = confusion_matrix(y_true, y_pred, NUM_CLASSES + 1)[:NUM_CLASSES]
    precision, recall, f1 = per_class_scores(cm)
    support = cm.sum(axis=1)
    found = y_pred != NOT_FOUND
    return {
        "photos": int(len(y_true)),
        "faces_found": int(found.sum()),
        "faces_found_rate": float(found.mean()),
        "accuracy": float((y_pred == y_true).mean()),
        "macro_f1": float(f1[support > 0].mean()) if (support > 0).any() else 0.0,
        "accuracy_on_found_faces": float((y_pred[found] == y_true[found]).mean()) if found.any() else None,
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                   "support": int(support[i])}
            for i, name in enumerate(EMOTIONS)
        },
        "labels": list(EMOTIONS),
        "predicted_labels": [*EMOTIONS, NO_FACE],
        "confusion_matrix": cm.tolist(),
    }


def predict_photo(analyzer: FaceAnalyzer, image: np.ndarray) -> int:
    """The pipeline's answer for a one-label photo: the largest face's emotion, or NOT_FOUND."""
    face = largest_face(analyzer.detect(image))
    if face is None:
        return NOT_FOUND
    probs = analyzer.classify(image, [face.box], [face.landmarks])
    return int(np.argmax(probs[0]))


def evaluate_photos(analyzer: FaceAnalyzer, photos: Iterable[LabelledPhoto], *, dataset: str,
                    progress: Callable[[Iterable[LabelledPhoto]], Iterable[LabelledPhoto]] | None = None,
                    ) -> dict[str, Any]:
    """Run every photo through the analyzer and score it. An unreadable photo counts as wrong
    (and is counted in `unreadable`)."""
    photos = list(photos)
    labels, predictions, unreadable = [], [], 0
    for photo in progress(photos) if progress else photos:
        try:
            image = load_image(photo.path)
        except ImageLoadError:
            unreadable += 1
            prediction = NOT_FOUND
        else:
            prediction = predict_photo(analyzer, image)
        labels.append(photo.label)
        predictions.append(prediction)
    report = score_photos(labels, predictions)
    report["unreadable"] = unreadable
    report["dataset"] = {"name": dataset, "photos": len(photos),
                         "per_class": {e: sum(p.label == i for p in photos) for i, e in enumerate(EMOTIONS)}}
    report["pipeline"] = {"detector": getattr(analyzer.detector, "name", "?"),
                          "classifier": getattr(analyzer.classifier, "name", "?"),
                          "framing": asdict(analyzer.framing), "face_per_photo": "largest"}
    report["date"] = dt.date.today().isoformat()
    return report


def dataset_name(root: str | Path) -> str:
    """A data set's name: its folder's name (`../shared/data/expressions_dev` -> expressions_dev)."""
    return Path(root).resolve().name


def photos_file(model_folder: Path, dataset: str) -> Path:
    """Where a model's end-to-end result on a photo set lives, beside its metrics.json."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in dataset)
    return model_folder / f"{PHOTOS_FILE_PREFIX}{safe}.json"
