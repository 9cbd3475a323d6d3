"""The recipe's pure arithmetic, importable without Keras: the learning-rate schedule and the
distillation targets."""

from __future__ import annotations

import numpy as np


def learning_rate(step: int, total_steps: int, peak: float, warmup: float) -> float:
    """Linear warm-up over `warmup` of the steps, then linear decay to exactly zero at the end."""
    warm = max(1, int(warmup * total_steps))
    if step < warm:
        return peak * (step + 1) / warm
    return peak * max(0.0, (total_steps - step) / max(1, total_steps - warm))


def distillation_targets(teacher_probs: np.ndarray, onehot: np.ndarray, weight: float,
                         temperature: float) -> np.ndarray:
    """(1 - weight) x the labels + weight x the teacher's probabilities softened by `temperature`."""
    soft = np.exp(np.log(np.clip(teacher_probs, 1e-7, 1.0)) / temperature)
    soft /= soft.sum(axis=1, keepdims=True)
    return ((1.0 - weight) * onehot + weight * soft).astype(np.float32)
