"""The recipe's pure arithmetic, importable without Keras: the learning-rate schedule and the
distillation targets."""

from __future__ import annotations

from typing import Any

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


LABEL_SOURCES = ("fer2013", "ferplus", "mix:A")


def vote_share(labels: str) -> float:
    """`--labels` as the share of the FER+ vote distribution in the targets: fer2013 -> 0 (the
    one-hot FER2013 label), ferplus -> 1 (the votes), mix:A -> A (A x votes + (1 - A) x label)."""
    if labels == "fer2013":
        return 0.0
    if labels == "ferplus":
        return 1.0
    if labels.startswith("mix:"):
        try:
            share = float(labels[4:])
        except ValueError:
            share = -1.0
        if 0.0 <= share <= 1.0:
            return share
    raise ValueError(f"--labels {labels!r}: choose fer2013, ferplus or mix:A with A between 0 and 1")


def training_examples(split: Any, share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(images, FER2013 labels, vote distribution or None) a run trains on. With votes in the
    targets (share > 0), faces that FER+'s annotators mostly called unknown, not-a-face or
    contempt (1.2% of Training) have no answer among our classes: the FER+ paper leaves them
    out, so do we."""
    from fer_core.training.votes import NOT_AN_EMOTION, VotesError, emotion_distribution, majority

    if share == 0.0:
        return split.images, split.labels, None
    if split.votes is None:
        raise VotesError("training on votes needs the FER+ votes attached (attach_votes)")
    keep = majority(split.votes) != NOT_AN_EMOTION
    return split.images[keep], split.labels[keep], emotion_distribution(split.votes[keep])


def label_targets(onehot: np.ndarray, vote_distribution: np.ndarray | None, share: float) -> np.ndarray:
    """The training targets: the FER2013 one-hot labels blended with the FER+ vote distribution."""
    if share == 0.0 or vote_distribution is None:
        return onehot.astype(np.float32)
    return (share * vote_distribution + (1.0 - share) * onehot).astype(np.float32)
