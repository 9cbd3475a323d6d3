"""Temperature scaling (Guo et al. 2017): one number per model that makes its probabilities
mean what they say, without changing which emotion a single pass ranks first.

A model trained on softened targets (label smoothing, a distillation teacher's probabilities)
learns to be under-confident: the distilled models said "happy 55%" where they were right far
more often than that. Dividing the log-probabilities by a temperature T fitted on PublicTest
(T < 1 sharpens, T > 1 softens) fixes that; the app shows the scaled probabilities. T is fitted
by `python -m fer_core calibrate` (and by `export`), stored in the model's index entry and
applied by the classifier to every pass, so flip TTA and ensembles average calibrated passes.

Prior correction (a class bias; Menon et al. 2021, "logit adjustment"): a network trained on
FER2013's faces learns their label frequencies too: FER+ voters called 35% of them neutral and
under 1% disgusted, so a vote-trained model answers "neutral" for a face people split between
neutral and angry, and almost never "disgust". The webcam and photo users do not share that
prior (they show every expression), so a vote-trained model's log-probabilities get
`-strength * log(training prior)` added: strength 0 keeps the FER2013 prior, 1 assumes every
expression equally likely. `choose_prior_strength` picks it on PublicTest (the rule is in its
docstring); the bias is stored in the model's index entry beside the temperature.
"""

from __future__ import annotations

import math

import numpy as np

MIN_TEMPERATURE, MAX_TEMPERATURE = 0.2, 5.0
_EPS = 1e-7


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """(N, C) probabilities -> softmax(log(probs) / temperature), float32."""
    if temperature == 1.0:
        return probs
    logits = np.log(np.clip(probs, _EPS, 1.0)) / np.float32(temperature)
    logits -= logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def negative_log_likelihood(probs: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Cross-entropy of integer labels (N,), or of target distributions (N, C) such as the FER+
    vote shares, under the temperature-scaled probabilities."""
    scaled = apply_temperature(np.asarray(probs, np.float32), temperature)
    log_p = np.log(np.clip(scaled, _EPS, 1.0))
    labels = np.asarray(labels)
    if labels.ndim == 2:
        return float(-np.mean((labels * log_p).sum(axis=1)))
    return float(-np.mean(log_p[np.arange(len(labels)), labels]))


def fit_temperature(probs: np.ndarray, labels: np.ndarray, iterations: int = 60) -> float:
    """The temperature in [MIN_TEMPERATURE, MAX_TEMPERATURE] with the least negative log-likelihood
    of `labels` (golden-section search on log T: the likelihood has a single minimum in 1/T)."""
    if len(labels) == 0:
        raise ValueError("fitting a temperature needs labelled examples")
    lo, hi = math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa = negative_log_likelihood(probs, labels, math.exp(a))
    fb = negative_log_likelihood(probs, labels, math.exp(b))
    for _ in range(iterations):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = negative_log_likelihood(probs, labels, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = negative_log_likelihood(probs, labels, math.exp(b))
    return round(math.exp((lo + hi) / 2.0), 4)


PRIOR_STRENGTHS = tuple(i / 8 for i in range(13))  # 0, 0.125, ..., 1.5: the strengths tried
MAX_AGREEMENT_COST = 0.02  # majority agreement a prior correction may give up on PublicTest


def apply_class_bias(probs: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """(N, C) probabilities -> softmax(log(probs) + bias), float32; `bias` None leaves them."""
    if bias is None:
        return probs
    logits = np.log(np.clip(probs, _EPS, 1.0)) + np.asarray(bias, np.float32)
    logits -= logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def prior_bias(prior: np.ndarray, strength: float) -> np.ndarray:
    """The class bias that divides probabilities by prior**strength (zero mean: only the
    differences between classes matter)."""
    b = -float(strength) * np.log(np.clip(np.asarray(prior, np.float64), _EPS, 1.0))
    return (b - b.mean()).astype(np.float32)


def choose_prior_strength(probs: np.ndarray, labels: np.ndarray, prior: np.ndarray,
                          max_cost: float = MAX_AGREEMENT_COST) -> tuple[float, list[dict[str, float]]]:
    """The strength in PRIOR_STRENGTHS with the best balanced accuracy (mean recall: every
    expression counted equally) on `labels`, among those whose plain accuracy stays within
    `max_cost` of the uncorrected model's. Returns it and the table of every strength tried.
    Meant for PublicTest's FER+ majority labels: agreement with people stays the first measure,
    and the bias buys the rare expressions back at a bounded price."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        raise ValueError("choosing a prior correction needs labelled examples")
    classes = [c for c in range(probs.shape[1]) if (labels == c).any()]
    table = []
    for s in PRIOR_STRENGTHS:
        pred = apply_class_bias(probs, prior_bias(prior, s)).argmax(axis=1)
        table.append({"strength": s, "accuracy": round(float((pred == labels).mean()), 4),
                      "balanced_accuracy": round(float(np.mean([(pred[labels == c] == c).mean() for c in classes])), 4)})
    floor = table[0]["accuracy"] - max_cost
    best = max((row for row in table if row["accuracy"] >= floor), key=lambda r: (r["balanced_accuracy"], -r["strength"]))
    return float(best["strength"]), table


__all__ = ["MAX_AGREEMENT_COST", "MAX_TEMPERATURE", "MIN_TEMPERATURE", "PRIOR_STRENGTHS", "apply_class_bias",
           "apply_temperature", "choose_prior_strength", "fit_temperature", "negative_log_likelihood", "prior_bias"]
