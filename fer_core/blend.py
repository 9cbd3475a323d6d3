"""A blend: shipped models' probabilities averaged with weights chosen on PublicTest.

The crowd-trained model agrees with people most often but falls behind on FER2013's own labels;
the FER2013-trained default is the other way round. Averaging their probabilities with a weight
walks the line between the two (`bench.studies.people_frontier` measures it), and one point on
it may beat every single model on both at once. `fit_blend` takes the point the default's rule
would take: the highest agreement with people (the FER+ majority) among the weights that keep
FER2013's labels at or above a floor (the `fer` package's, `bench.tables.fer_floor`), all on
PublicTest. PrivateTest and the real photos never choose.

Pure arithmetic on stored probabilities: no model is loaded here (`fer_core.training.export.
ship_blend` runs the members and registers the result as an ensemble with "weights").
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

WEIGHT_STEP = 0.1  # the grid of member weights tried (weights sum to 1)


@dataclass(frozen=True)
class BlendChoice:
    weights: tuple[float, ...]
    people: float  # PublicTest FER+ majority accuracy (faces whose majority is an emotion)
    fer2013: float  # PublicTest accuracy on FER2013's labels
    table: list[dict[str, Any]] = field(default_factory=list)  # every weighting tried


def weight_grid(members: int, step: float = WEIGHT_STEP) -> list[tuple[float, ...]]:
    """Every weighting of `members` on a grid of `step` that sums to 1, each member above 0."""
    if members < 1:
        raise ValueError("a blend needs at least one member")
    n = round(1 / step)
    return [tuple(round(k * step, 6) for k in ks) for ks in itertools.product(range(1, n + 1), repeat=members)
            if sum(ks) == n]


def blend(probs: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The weighted mean of (N, C) probability arrays."""
    return np.asarray(sum(w * p for w, p in zip(weights, probs)), np.float64)


def fit_blend(probs: Sequence[np.ndarray], labels: np.ndarray, majority: np.ndarray, floor: float | None,
              step: float = WEIGHT_STEP) -> BlendChoice:
    """Choose member weights on one split (PublicTest): the highest agreement with the FER+
    majority (`majority`: -1 where it is not an emotion) among the weightings whose accuracy on
    FER2013's `labels` is at least `floor` (None: no floor); ties go to the higher FER2013
    accuracy. Raises ValueError when no weighting reaches the floor."""
    labels, majority = np.asarray(labels), np.asarray(majority)
    people = majority >= 0
    if not people.any():
        raise ValueError("fitting a blend needs faces with a FER+ majority among the 7 emotions")
    scored = []
    for w in weight_grid(len(probs), step):
        answer = blend(probs, w).argmax(axis=1)
        scored.append((float(np.mean(answer[people] == majority[people])), float(np.mean(answer == labels)), w))
    allowed = [s for s in scored if floor is None or s[1] >= floor]
    if not allowed:
        raise ValueError(f"no weighting of these members reaches the FER2013 floor {floor:.2%} "
                         f"on PublicTest (best {max(s[1] for s in scored):.2%})")
    people_acc, fer_acc, weights = max(allowed, key=lambda s: (s[0], s[1]))
    table = [{"weights": list(w), "people": round(p, 4), "fer2013": round(f, 4)} for p, f, w in scored]
    return BlendChoice(weights, people_acc, fer_acc, table)


__all__ = ["WEIGHT_STEP", "BlendChoice", "blend", "fit_blend", "weight_grid"]
