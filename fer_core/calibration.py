"""Temperature scaling (Guo et al. 2017): one number per model that makes its probabilities
mean what they say, without changing which emotion a single pass ranks first.

A model trained on softened targets (label smoothing, a distillation teacher's probabilities)
learns to be under-confident: the distilled models said "happy 55%" where they were right far
more often than that. Dividing the log-probabilities by a temperature T fitted on PublicTest
(T < 1 sharpens, T > 1 softens) fixes that; the app shows the scaled probabilities. T is fitted
by `python -m fer_core calibrate` (and by `export`), stored in the model's index entry and
applied by the classifier to every pass, so flip TTA and ensembles average calibrated passes.
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


__all__ = ["MAX_TEMPERATURE", "MIN_TEMPERATURE", "apply_temperature", "fit_temperature", "negative_log_likelihood"]
