"""`python -m fer_core evaluate`: score a model on a held-out split and write its metrics.json.

Shipped models are scored as the app runs them: the `.tflite` file through LiteRT, in fixed
batches with a fixed thread count, so a re-run on the same data reproduces every number.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from fer_core.classifier import EmotionClassifier, load_classifier
from fer_core.metrics import classification_report, ferplus_report
from fer_core.model_zoo import FLOAT_FILE, INT8_FILE, METRICS_FILE, ModelInfo, get_model, load_model, read_index
from fer_core.preprocessing import INPUT_SIZE, to_model_input
from fer_core.training.data import FerDataset, attach_votes, load_dataset
from fer_core.training.votes import default_votes_path

EVAL_BATCH = 256
EVAL_THREADS = 2
SPLIT_NAMES = {"test": "PrivateTest", "val": "PublicTest", "train": "Training"}


def predict_images(classifier: EmotionClassifier, images: np.ndarray, batch: int = EVAL_BATCH) -> np.ndarray:
    """(N, 48, 48) uint8 grey faces -> (N, 7) probabilities, in fixed-size batches."""
    out = [classifier.predict(to_model_input(images[i : i + batch])) for i in range(0, len(images), batch)]
    return np.concatenate(out) if out else np.zeros((0, 7), np.float32)


def time_per_face(classifier: EmotionClassifier, repeats: int = 200) -> dict[str, float]:
    """Median and 95th-percentile milliseconds per face, one face per call (the webcam case)
    and eight per call (a group photo)."""
    rng = np.random.default_rng(0)
    one = rng.random((1, INPUT_SIZE, INPUT_SIZE, 1), dtype=np.float32)
    eight = rng.random((8, INPUT_SIZE, INPUT_SIZE, 1), dtype=np.float32)
    result: dict[str, float] = {}
    for label, batch in (("batch1", one), ("batch8", eight)):
        for _ in range(10):
            classifier.predict(batch)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            classifier.predict(batch)
            times.append((time.perf_counter() - start) * 1000.0 / len(batch))
        result[f"ms_per_face_{label}_p50"] = round(float(np.percentile(times, 50)), 4)
        result[f"ms_per_face_{label}_p95"] = round(float(np.percentile(times, 95)), 4)
    return result


def machine_description() -> str:
    return f"{os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}, {platform.system()}"


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    keys = ("accuracy", "balanced_accuracy", "macro_f1", "top2_accuracy", "ece", "confusion_matrix")
    out = {k: report[k] for k in keys}
    if "ferplus" in report:
        out["ferplus"] = {k: report["ferplus"][k] for k in FERPLUS_SUMMARY}
    return out


FERPLUS_SUMMARY = ("accuracy", "balanced_accuracy", "macro_f1", "top1_has_2_votes", "vote_cross_entropy", "vote_ece",
                   "count", "confusion_matrix")


def _publictest(report: dict[str, Any], target: dict[str, Any]) -> None:
    """Copy PublicTest's accuracies (what selection may look at) into a PrivateTest record."""
    target["publictest_accuracy"] = report["accuracy"]
    if "ferplus" in report and "ferplus" in target:
        target["ferplus"]["publictest_accuracy"] = report["ferplus"]["accuracy"]


def with_votes_if_found(dataset: FerDataset, votes: str | os.PathLike | None = None) -> FerDataset:
    """Attach the FER+ votes to an image-folder dataset when a vote file is given or lies beside
    it (ferplus/votes.csv); otherwise the dataset is returned as it is (FER2013 figures only)."""
    if votes:  # asked for: a CSV dataset or a bad file is an error with its reason (attach_votes)
        return attach_votes(dataset, votes)
    if any(s.votes is not None for s in dataset.splits.values()) or not Path(dataset.source).is_dir():
        return dataset
    path = default_votes_path(dataset.source)
    return attach_votes(dataset, path) if path.is_file() else dataset


def evaluate_classifier(classifier: EmotionClassifier, dataset: FerDataset, split: str = "test") -> dict[str, Any]:
    """FER2013-label figures for one split, and the FER+ figures (key `ferplus`) when the
    dataset carries votes. One pass of the model serves both."""
    data = dataset[split]
    probs = predict_images(classifier, data.images)
    report = classification_report(probs, data.labels)
    report["dataset"] = {"source": dataset.source, "split": SPLIT_NAMES.get(split, split), "images": len(data.labels)}
    if data.votes is not None:
        report["ferplus"] = ferplus_report(probs, data.votes)
        report["ferplus"]["votes"] = dataset.votes_source
    return report


def _prior_strength(info: Any) -> float | None:
    """The strength of the prior correction the figures were measured with (fer_core.calibration)."""
    if info.is_ensemble or info.class_bias is None:
        return None
    entry = read_index(info.folder.parent)["models"][info.name]
    return float(entry.get("prior_correction", {}).get("strength", 0.0))


def _file_bytes(info: ModelInfo, runtime: str) -> int:
    if info.is_ensemble:
        return sum(_file_bytes(get_model(m, info.folder.parent), runtime) for m in info.members)
    return info.file(runtime).stat().st_size


def _parameters(info: ModelInfo) -> int | None:
    if info.is_ensemble:
        counts = [_parameters(get_model(m, info.folder.parent)) for m in info.members]
        return None if None in counts else sum(c for c in counts if c is not None)
    cfg = info.train_config() or {}
    return cfg.get("parameters")


def evaluate_shipped(name: str, data: str | os.PathLike, *, root: Path | None = None, split: str = "test",
                     dataset: FerDataset | None = None, timing: bool = True) -> dict[str, Any]:
    """Evaluate a model of the zoo (float, flip-TTA and, where shipped, int8) and write its
    metrics.json. Returns what was written. Without `timing`, the speed figures of the previous
    metrics.json are kept (marked with its date): the model file is the same."""
    info = get_model(name, root)
    root = info.folder.parent
    previous = _previous_metrics(info)
    dataset = with_votes_if_found(dataset or load_dataset(data))
    clf = load_model(info.name, num_threads=EVAL_THREADS, root=root)
    metrics = evaluate_classifier(clf, dataset, split)
    metrics.update(
        model=info.name,
        title=info.title,
        runtime=info.runtime_description,
        file=None if info.is_ensemble else FLOAT_FILE,
        members=info.members or None,
        file_bytes=_file_bytes(info, "float"),
        parameters=_parameters(info),
        temperature=None if info.is_ensemble else info.temperature,
        prior_strength=_prior_strength(info),
    )
    if split == "test":  # what model selection (the default) may look at: PublicTest, never PrivateTest
        _publictest(evaluate_classifier(clf, dataset, "val"), metrics)
    if timing:
        metrics["speed"] = {**time_per_face(clf), "threads": EVAL_THREADS, "machine": machine_description()}
    elif "speed" in previous:
        metrics["speed"] = {**previous["speed"], "measured": previous["speed"].get("measured", previous.get("date"))}
    variants: dict[str, Any] = {}
    tta = load_model(info.name, flip_tta=True, num_threads=EVAL_THREADS, root=root)
    variants["flip_tta"] = _summary(evaluate_classifier(tta, dataset, split))
    if split == "test":  # so that the most accurate option (model x TTA) is chosen on PublicTest too
        _publictest(evaluate_classifier(tta, dataset, "val"), variants["flip_tta"])
    if info.has_runtime("int8") and all(
        get_model(m, root).has_runtime("int8") for m in info.members
    ):
        q = load_model(info.name, runtime="int8", num_threads=EVAL_THREADS, root=root)
        variants["int8"] = {**_summary(evaluate_classifier(q, dataset, split)),
                            "file": None if info.is_ensemble else INT8_FILE,
                            "file_bytes": _file_bytes(info, "int8")}
        if timing:
            variants["int8"]["speed"] = time_per_face(q)
        elif "speed" in previous.get("variants", {}).get("int8", {}):
            variants["int8"]["speed"] = previous["variants"]["int8"]["speed"]
    elif previous.get("variants", {}).get("int8", {}).get("shipped") is False:
        variants["int8"] = previous["variants"]["int8"]  # keep the record of why it is not shipped
    metrics["variants"] = variants
    metrics["written_by"] = "python -m fer_core " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["evaluate"] \
        else f"fer_core.training.evaluate.evaluate_shipped({info.name!r})"
    metrics["date"] = dt.date.today().isoformat()
    (info.folder / METRICS_FILE).write_text(json.dumps(metrics, indent=1))
    return metrics


def _previous_metrics(info: ModelInfo) -> dict[str, Any]:
    try:
        return info.metrics() or {}
    except (OSError, ValueError):  # a damaged file is rewritten, not fatal
        return {}


def evaluate_file(path: str | os.PathLike, data: str | os.PathLike, *, split: str = "test",
                  flip_tta: bool = False) -> dict[str, Any]:
    """Evaluate a single model file (.tflite or .keras) that is not (yet) in the zoo."""
    clf = load_classifier(path, flip_tta=flip_tta, num_threads=EVAL_THREADS)
    report = evaluate_classifier(clf, with_votes_if_found(load_dataset(data)), split)
    report.update(file=str(path), file_bytes=Path(path).stat().st_size, flip_tta=flip_tta)
    return report
