"""What the Model comparison page shows, read only from the files evaluation and training wrote
(metrics.json, history.csv, card.md): nothing here is typed in. Pure (no Streamlit).

A damaged or half-written file must not take the page down, so every read is guarded and a
model whose metrics cannot be used is listed as "not evaluated" (with the reason)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fer_core.labels import EMOTIONS
from fer_core.model_zoo import ModelInfo

NOT_EVALUATED = "not evaluated"
EVALUATED = "evaluated"

# summary table columns: key -> header (the page formats them). The first table shows MAIN_COLUMNS,
# the experts' one every column; COLUMN_HELP explains each where it is shown (a header tooltip).
SUMMARY_COLUMNS: dict[str, str] = {
    "model": "model",
    "title": "what it is",
    "status": "status",
    "ferplus_accuracy": "agrees with people",
    "accuracy": "FER2013 labels",
    "photo_accuracy": "real photos",
    "macro_f1": "macro-F1",
    "top2_accuracy": "top-2 accuracy",
    "ece": "ECE",
    "parameters": "parameters",
    "size_mb": "size (MB)",
    "ms_per_face": "ms per face",
    "test_images": "test images",
}
MAIN_COLUMNS: tuple[str, ...] = ("model", "ferplus_accuracy", "accuracy", "photo_accuracy", "ms_per_face",
                                 "size_mb", "title")
COLUMN_HELP: dict[str, str] = {
    "model": "The name to pick in the sidebar; the app's default is marked.",
    "title": "What the model is, in a line (its card, below, says more).",
    "status": "Whether the model's own evaluation wrote its numbers.",
    "ferplus_accuracy": "How often its answer is what most of ten people said for the same test face.",
    "accuracy": "How often it matches FER2013's own label: one person's guess per face.",
    "photo_accuracy": "How often it is right on real posed photos of people, face finding included.",
    "macro_f1": "The score of each emotion averaged, so rare ones (disgust) count as much as common ones.",
    "top2_accuracy": "How often the right emotion is among its two most likely answers.",
    "ece": "How far the shown percentages are from how often they are right (0 = they can be taken literally).",
    "parameters": "Number of learned weights.",
    "size_mb": "Size of the model file the app loads.",
    "ms_per_face": "Milliseconds to classify one face on the machine that evaluated it (lower is faster).",
    "test_images": "Test faces the numbers come from.",
}
# every term the page's expert parts use, in plain words
GLOSSARY: dict[str, str] = {
    "PublicTest / PrivateTest": "FER2013's two test sets of about 3,600 faces each. Models and settings are "
                                "chosen on PublicTest only; the numbers shown are on PrivateTest, which chose "
                                "nothing, so they are not flattered by the choice.",
    "agrees with people (FER+)": "FER+ had ten people label every FER2013 face again; a model agrees when its "
                                 "answer is what most of them said.",
    "macro-F1": COLUMN_HELP["macro_f1"] + " F1 combines how often an answer is right (precision) and how "
                                          "many faces of that emotion are found (recall).",
    "top-2": COLUMN_HELP["top2_accuracy"],
    "ECE": "Expected calibration error. " + COLUMN_HELP["ece"],
    "TTA (flip)": "Test-time augmentation: the face is also classified mirrored and the two answers averaged. "
                  "A little more accurate, twice the work.",
    "kd (distilled)": "Knowledge distillation: a model trained to imitate the answers of larger or several "
                      "models as well as the labels.",
    "ensemble (x2, x3)": "Several models whose answers are averaged: more accurate, slower.",
    "int8": "A version of the model file with weights stored in 8 bits: smaller, a little faster.",
    "LiteRT": "Google's runtime for .tflite model files (formerly TensorFlow Lite), which the app uses.",
    "temperature": "A number fitted on PublicTest that makes the shown percentages honest; it never changes "
                   "which emotion comes first.",
}


@dataclass
class ModelEntry:
    info: ModelInfo
    metrics: dict[str, Any] | None = None
    problem: str | None = None  # why metrics are missing or unusable
    history: list[dict[str, float]] = field(default_factory=list)
    card: str | None = None
    photos: dict[str, dict[str, Any]] = field(default_factory=dict)  # photos_<set>.json by stem

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def evaluated(self) -> bool:
        return self.metrics is not None


def load_entries(models: Sequence[ModelInfo]) -> list[ModelEntry]:
    return [load_entry(info) for info in models]


def load_entry(info: ModelInfo) -> ModelEntry:
    entry = ModelEntry(info)
    try:
        metrics = info.metrics()
    except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
        entry.problem = f"metrics.json could not be read ({exc.__class__.__name__})"
    else:
        if metrics is None:
            entry.problem = "no metrics.json"
        elif not isinstance(metrics, dict) or not isinstance(metrics.get("accuracy"), (int, float)):
            entry.problem = "metrics.json has no accuracy"
        else:
            entry.metrics = metrics
    try:
        entry.history = info.history()
    except (OSError, ValueError):
        entry.history = []
    try:
        entry.photos = {k: v for k, v in info.photo_metrics().items() if _usable_photo_result(v)}
    except (OSError, ValueError):
        entry.photos = {}
    try:
        entry.card = info.card()
    except (OSError, UnicodeDecodeError):
        entry.card = None
    return entry


def as_dict(value: object) -> dict[str, Any]:
    """`value` when it is a dict, else {}: a metrics file written by an older version (or by
    hand) may lack a section or hold something else there."""
    return value if isinstance(value, dict) else {}


def summary_row(entry: ModelEntry) -> dict[str, Any]:
    m = entry.metrics or {}
    speed = as_dict(m.get("speed"))
    dataset = as_dict(m.get("dataset"))
    size = m.get("file_bytes")
    ferplus = as_dict(m.get("ferplus"))
    return {
        "model": entry.name,
        "title": entry.info.title,
        "status": EVALUATED if entry.evaluated else f"{NOT_EVALUATED} ({entry.problem})",
        "ferplus_accuracy": _number(ferplus.get("accuracy")),
        "accuracy": _number(m.get("accuracy")),
        "photo_accuracy": _photo_accuracy(entry),
        "macro_f1": _number(m.get("macro_f1")),
        "top2_accuracy": _number(m.get("top2_accuracy")),
        "ece": _number(m.get("ece")),
        "parameters": _number(m.get("parameters")),
        "size_mb": None if (size_bytes := _number(size)) is None else size_bytes / 1e6,
        "ms_per_face": _number(speed.get("ms_per_face_batch1_p50")),
        "test_images": _number(dataset.get("images", m.get("count"))),
    }


def _photo_accuracy(entry: ModelEntry) -> float | None:
    """End-to-end accuracy on the real-photo set (the first, when a model has several)."""
    for _, result in sorted(entry.photos.items()):
        return _number(result.get("accuracy"))
    return None


@dataclass(frozen=True)
class Pick:
    """One answer to "which model should I use?": what for, which model, why in plain words."""

    use: str
    model: str
    why: str


def picks(entries: Sequence[ModelEntry], default: str, most_accurate: tuple[str, bool] | None,
          default_flip: bool = False) -> list[Pick]:
    """The page's lead: the default, and which other model to choose for what, each with how
    often it is right, from the stored metrics. A model that is best at several things is
    named once with all of them. The default's figures are as the app runs it (with flip TTA
    when `default_flip`)."""
    rows = {r["model"]: r for r in (summary_row(e) for e in entries if e.evaluated)}
    if default_flip and default in rows:
        rows[default] = _with_flip_tta(rows[default], next(e for e in entries if e.name == default))
    if not rows:
        return []
    public_ferplus = {e.name: _number(as_dict(as_dict(e.metrics).get("ferplus")).get("publictest_accuracy"))
                      for e in entries if e.evaluated}
    found: list[tuple[str, str]] = []  # (use, model), in the order shown
    if default in rows:
        found.append(("Everyday use, the default", default))
    scored = {k: v for k, v in public_ferplus.items() if v is not None}
    if scored:  # chosen on PublicTest, like the default
        found.append(("Closest to what people would say", max(scored, key=lambda k: (scored[k], k))))
    if most_accurate and most_accurate[0] in rows:
        found.append(("Highest score on FER2013's labels", most_accurate[0]))
    with_photos = {k: r["photo_accuracy"] for k, r in rows.items() if r["photo_accuracy"] is not None}
    if with_photos:
        found.append(("Best on real photos", max(with_photos, key=lambda k: (with_photos[k], k))))
    timed = {k: r["ms_per_face"] for k, r in rows.items()
             if r["ms_per_face"] is not None and r["ferplus_accuracy"] is not None}
    if timed:
        found.append(("Fastest, for crowded photos or many webcams", min(timed, key=lambda k: (timed[k], k))))
    uses: dict[str, list[str]] = {}
    for use, model in found:
        uses.setdefault(model, []).append(use)
    reference = rows.get(default)
    return [Pick(" · ".join(u), model, _why(rows[model], reference, flip=bool(
        most_accurate and most_accurate == (model, True)))) for model, u in uses.items()]


def _with_flip_tta(row: dict[str, Any], entry: ModelEntry) -> dict[str, Any]:
    tta = as_dict(as_dict(as_dict(entry.metrics).get("variants")).get("flip_tta"))
    if not tta:
        return row
    ms = row["ms_per_face"]
    return {**row, "accuracy": _number(tta.get("accuracy")),
            "ferplus_accuracy": _number(as_dict(tta.get("ferplus")).get("accuracy")),
            "ms_per_face": None if ms is None else 2 * ms, "flip_tta": True}


def _why(row: dict[str, Any], default: dict[str, Any] | None, *, flip: bool) -> str:
    parts = []
    if row["ferplus_accuracy"] is not None:
        parts.append(f"agrees with most people on {_per100(row['ferplus_accuracy'])} test faces")
    if row["accuracy"] is not None:
        parts.append(f"matches FER2013's single label on {_per100(row['accuracy'])}")
    if row["photo_accuracy"] is not None:
        parts.append(f"right on {_per100(row['photo_accuracy'])} real photos")
    if row["ms_per_face"] is not None:
        speed = f"{row['ms_per_face']:.2f} ms per face"
        if default is not None and default["model"] != row["model"] and default["ms_per_face"]:
            ratio = row["ms_per_face"] / default["ms_per_face"]
            speed += f" ({ratio:.1f}x the default's time)" if ratio >= 1.05 else \
                f" ({1 / ratio:.1f}x quicker than the default)" if ratio <= 0.95 else ""
        parts.append(speed)
    text = "; ".join(parts)
    return (text[0].upper() + text[1:] + "." if text else "No stored figures.") + (
        " With flip TTA (on for it by default)." if row.get("flip_tta") else
        " Best with flip TTA on (sidebar)." if flip else "")


def _per100(share: float) -> str:
    return f"{round(100 * share)} of 100"


def summary_rows(entries: Sequence[ModelEntry]) -> list[dict[str, Any]]:
    """Evaluated models first, most agreement with people first (then FER2013 accuracy); the
    table stays sortable by any column."""
    rows = [summary_row(e) for e in entries]
    return sorted(rows, key=lambda r: (r["accuracy"] is None, -(r["ferplus_accuracy"] or 0.0),
                                       -(r["accuracy"] or 0.0)))


def confusion_matrix(metrics: dict[str, Any]) -> tuple[np.ndarray, list[str]] | None:
    """The square count matrix and its labels, or None when the file holds no usable one."""
    raw = metrics.get("confusion_matrix")
    labels = metrics.get("labels") or list(EMOTIONS)
    try:
        matrix = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] != len(labels):
        return None
    return matrix, [str(label) for label in labels]


def per_class(metrics: dict[str, Any]) -> dict[str, dict[str, float]]:
    raw = metrics.get("per_class")
    return raw if isinstance(raw, dict) else {}


def variant_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """The evaluated variants (float, flip TTA, int8) as rows of the same scores."""
    rows = [{"variant": "float32", **_scores(metrics), "size_mb": _mb(metrics.get("file_bytes")),
             "shipped": True}]
    variants = as_dict(metrics.get("variants"))
    for name, label in (("flip_tta", "float32 + flip TTA"), ("int8", "dynamic-range int8")):
        v = variants.get(name)
        if isinstance(v, dict):
            rows.append({"variant": label, **_scores(v), "size_mb": _mb(v.get("file_bytes", metrics.get("file_bytes"))),
                         "shipped": bool(v.get("shipped", name == "flip_tta"))})
    return rows


def _scores(m: dict[str, Any]) -> dict[str, float | None]:
    return {k: _number(m.get(k)) for k in ("accuracy", "macro_f1", "top2_accuracy", "ece")}


def _mb(value: Any) -> float | None:
    number = _number(value)
    return None if number is None else number / 1e6


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if np.isfinite(value) else None


# end-to-end results on photo sets (models/<name>/photos_<set>.json, `python -m fer_core evaluate-photos`)
PHOTO_COLUMNS: dict[str, str] = {
    "model": "model",
    "dataset": "photo set",
    "photos": "photos",
    "faces_found": "faces found",
    "accuracy": "end-to-end accuracy",
    "macro_f1": "end-to-end macro-F1",
    "fer2013_accuracy": "FER2013 accuracy",
    "date": "evaluated",
}


def _usable_photo_result(result: Any) -> bool:
    return isinstance(result, dict) and isinstance(result.get("accuracy"), (int, float)) \
        and isinstance(result.get("dataset"), dict)


def photo_rows(entries: Sequence[ModelEntry]) -> list[dict[str, Any]]:
    """One row per model and photo set, next to the model's FER2013 accuracy; best first."""
    rows = []
    for entry in entries:
        for result in entry.photos.values():
            rows.append({
                "model": entry.name,
                "dataset": str(result["dataset"].get("name", "?")),
                "photos": _number(result.get("photos")),
                "faces_found": _number(result.get("faces_found")),
                "accuracy": _number(result.get("accuracy")),
                "macro_f1": _number(result.get("macro_f1")),
                "fer2013_accuracy": _number((entry.metrics or {}).get("accuracy")),
                "date": str(result.get("date", "")),
            })
    return sorted(rows, key=lambda r: (r["dataset"], -(r["accuracy"] or 0.0)))


def photo_recall_rows(entry: ModelEntry) -> list[dict[str, Any]]:
    """Per-class recall on each photo set (a missed face counts against its class)."""
    rows = []
    for result in entry.photos.values():
        classes = per_class(result)
        rows.append({"photo set": str(result["dataset"].get("name", "?")),
                     **{e: _number(classes.get(e, {}).get("recall")) for e in EMOTIONS
                        if _number(classes.get(e, {}).get("support"))}})
    return rows


def speed_accuracy_points(entries: Sequence[ModelEntry]) -> list[dict[str, Any]]:
    """Models with both a speed (ms per face, one face per call) and an accuracy, for the chart."""
    points = []
    for entry in entries:
        row = summary_row(entry)
        if row["ms_per_face"] is not None and row["accuracy"] is not None:
            points.append({"model": entry.name, "ms_per_face": row["ms_per_face"], "accuracy": row["accuracy"],
                           "ferplus_accuracy": row["ferplus_accuracy"], "ensemble": entry.info.is_ensemble})
    return points


# a path on the machine that trained or evaluated a model: absolute, home- or parent-relative
# (a path inside the project, like runs/<name>, is left alone)
_MACHINE_PATH = re.compile(r"(?<![\w:/.\\])(?:~|\.\.|[A-Za-z]:)?(?:[/\\][\w.\-]+){2,}")
_RAW_TEMPERATURE = re.compile(r"\bT = (\d+(?:\.\d+)?)")


def display_card(card: str) -> str:
    """A model card as the page shows it: a path of the machine the model was trained on (the
    data folder in its training command, say) becomes "…/" and its last folder's name only,
    and a raw "T = 0.573" (cards written before calibration was explained) reads as words."""
    text = _MACHINE_PATH.sub(lambda m: "…/" + re.split(r"[/\\]", m.group(0))[-1], card)
    return _RAW_TEMPERATURE.sub(lambda m: f"a temperature of {float(m.group(1)):.2f}", text)
