"""Classification metrics in plain numpy (no scikit-learn in the app's dependencies)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fer_core.labels import EMOTIONS, NUM_CLASSES

ECE_BINS = 15


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int = NUM_CLASSES) -> np.ndarray:
    """(n, n) counts; rows are true classes, columns predictions."""
    return np.bincount(np.asarray(y_true) * n + np.asarray(y_pred), minlength=n * n).reshape(n, n)


def _binned_gap(conf: np.ndarray, outcome: np.ndarray, bins: int) -> float:
    """Mean |outcome - confidence| over equal-width confidence bins, weighted by bin size."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            gap += mask.mean() * abs(outcome[mask].mean() - conf[mask].mean())
    return float(gap)


def expected_calibration_error(probs: np.ndarray, y_true: np.ndarray, bins: int = ECE_BINS) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    return _binned_gap(probs.max(axis=1), probs.argmax(axis=1) == y_true, bins)


def per_class_scores(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 per class from an (n, m >= n) count matrix whose first n columns
    are the n classes; extra columns (e.g. "no face found") count against recall only."""
    cm = np.asarray(cm)
    n = cm.shape[0]
    tp = np.diag(cm[:, :n]).astype(np.float64)
    predicted, support = cm[:, :n].sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return precision, recall, f1


def classification_report(probs: np.ndarray, y_true: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro-F1, balanced accuracy (mean recall), per-class precision/recall/F1/support, confusion matrix, top-2
    accuracy and calibration error for (N, 7) probabilities against integer labels."""
    probs = np.asarray(probs, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.int64)
    if probs.ndim != 2 or probs.shape[1] != NUM_CLASSES or len(probs) != len(y_true):
        raise ValueError(f"need (N, {NUM_CLASSES}) probabilities and N labels; got {probs.shape}, {y_true.shape}")
    y_pred = probs.argmax(axis=1)
    cm = confusion_matrix(y_true, y_pred)
    precision, recall, f1 = per_class_scores(cm)
    support = cm.sum(axis=1)
    top2 = np.argsort(-probs, axis=1, kind="stable")[:, :2]
    return {
        "count": int(len(y_true)),
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else 0.0,
        "macro_f1": float(f1.mean()),
        # every class counted equally: what a user who shows each expression equally often sees
        "balanced_accuracy": float(recall[support > 0].mean()) if support.any() else 0.0,
        "top2_accuracy": float((top2 == y_true[:, None]).any(axis=1).mean()) if len(y_true) else 0.0,
        "ece": expected_calibration_error(probs, y_true) if len(y_true) else 0.0,
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                   "support": int(support[i])}
            for i, name in enumerate(EMOTIONS)
        },
        "labels": list(EMOTIONS),
        "confusion_matrix": cm.tolist(),
    }


def vote_calibration_error(probs: np.ndarray, vote_distribution: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE against people: mean |share of annotators who chose the shown emotion - its shown
    probability| over confidence bins. 0 means "when the app says happy 70%, 70% of people
    said happy"."""
    share = vote_distribution[np.arange(len(probs)), probs.argmax(axis=1)]
    return _binned_gap(probs.max(axis=1), share, bins)


def ferplus_report(probs: np.ndarray, votes: np.ndarray) -> dict[str, Any]:
    """The FER+ benchmark for (N, 7) probabilities and (N, 10) votes (fer_core.training.votes),
    on the faces whose majority is one of the 7 classes: agreement with the majority (accuracy,
    macro-F1, per class, confusion matrix), the share of faces whose top answer got at least 2
    of the votes, and how well the probabilities match how people split (cross-entropy against
    the vote distribution, and `vote_calibration_error`)."""
    from fer_core.training.votes import NOT_AN_EMOTION, emotion_distribution, majority, top1_has_votes

    probs = np.asarray(probs, dtype=np.float64)
    major = majority(votes)
    keep = major != NOT_AN_EMOTION
    p, v = probs[keep], np.asarray(votes)[keep]
    report = classification_report(p, major[keep])
    dist = emotion_distribution(v).astype(np.float64)
    report.pop("ece")
    report.update(
        faces_with_votes=int((~np.isnan(np.asarray(votes, np.float64)).any(axis=1)).sum()),
        top1_has_2_votes=float(top1_has_votes(p.argmax(axis=1), v, 2).mean()) if len(p) else 0.0,
        vote_cross_entropy=float(-np.mean((dist * np.log(np.clip(p, 1e-7, 1.0))).sum(axis=1))) if len(p) else 0.0,
        vote_ece=vote_calibration_error(p, dist) if len(p) else 0.0,
    )
    return report
