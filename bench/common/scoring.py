"""Detections scored against hand-drawn face boxes, the same way in every benchmark that counts
faces (the detector comparison, the pipeline and `fer` package comparisons).

A detection finds a required face when their IoU is >= IOU_MATCH (greedy, best overlap first,
one detection per face). A detection on an "optional" face counts neither way. Every other
detection is a false detection, including a second box on a face already found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.common.photo_set import Box
from fer_core.tracking import iou

IOU_MATCH = 0.4


@dataclass(frozen=True)
class Score:
    found: tuple[bool, ...]  # per required face
    false_detections: int
    optional_hits: int


def score(detections: Sequence[Box], faces: Sequence[Box], optional: Sequence[Box] = ()) -> Score:
    """Greedy one-to-one matching, best IoU first (see module docstring)."""
    pairs = sorted(
        ((iou(d, f), di, fi) for di, d in enumerate(detections) for fi, f in enumerate(faces)),
        reverse=True,
    )
    used_dets: set[int] = set()
    found = [False] * len(faces)
    for overlap, di, fi in pairs:
        if overlap < IOU_MATCH:
            break
        if di in used_dets or found[fi]:
            continue
        used_dets.add(di)
        found[fi] = True
    leftover = [d for i, d in enumerate(detections) if i not in used_dets]
    optional_hits = sum(1 for d in leftover if any(iou(d, o) >= IOU_MATCH for o in optional))
    return Score(tuple(found), len(leftover) - optional_hits, optional_hits)
