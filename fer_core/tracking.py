"""Face tracks across video frames: IoU matching keeps each face's number, and an exponential
moving average of each track's probabilities keeps its label from flickering."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fer_core.preprocessing import Box


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two x, y, w, h boxes."""
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def match_boxes(previous: list[Box], current: list[Box], min_iou: float) -> dict[int, int]:
    """Greedy one-to-one matching, best overlap first: {current index: previous index}."""
    pairs = sorted(
        ((iou(p, c), pi, ci) for pi, p in enumerate(previous) for ci, c in enumerate(current)),
        reverse=True,
    )
    matched: dict[int, int] = {}
    used: set[int] = set()
    for overlap, pi, ci in pairs:
        if overlap < min_iou:
            break
        if ci in matched or pi in used:
            continue
        matched[ci] = pi
        used.add(pi)
    return matched


@dataclass
class Track:
    track_id: int
    box: Box
    probabilities: np.ndarray  # smoothed
    missed: int = 0  # frames since last seen


def check_smoothing(value: float) -> float:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"smoothing must lie in [0, 1), got {value}")
    return float(value)


def smooth_step(history: np.ndarray, new: np.ndarray, alpha: np.float32) -> np.ndarray:
    """One step of the moving average: the history keeps `alpha`, the new frame adds the rest.
    The one formula both the live tracker and `ProbabilitySmoother` use."""
    return (alpha * history + (1 - alpha) * new).astype(np.float32)


class ProbabilitySmoother:
    """The tracker's smoothing applied afterwards to faces that already carry track ids and raw
    probabilities: a video analysed once can be shown at any smoothing without detecting and
    classifying again. Gives what `IoUTracker(smoothing=s)` gives, since matching ignores the
    probabilities and a track's history only changes in frames where the track is seen."""

    def __init__(self, smoothing: float) -> None:
        self.alpha = np.float32(check_smoothing(smoothing))
        self._history: dict[int, np.ndarray] = {}

    def apply(self, face_ids: Sequence[int], probabilities: Sequence[np.ndarray]) -> list[np.ndarray]:
        """One frame's track ids and raw probabilities -> their smoothed probabilities."""
        out = []
        for face_id, raw in zip(face_ids, probabilities):
            raw = np.asarray(raw, dtype=np.float32)
            history = self._history.get(face_id)
            probs = raw.copy() if history is None else smooth_step(history, raw, self.alpha)
            self._history[face_id] = probs
            out.append(probs.copy())
        return out


class IoUTracker:
    """Assigns stable ids to per-frame boxes and smooths their probabilities.

    `smoothing` in [0, 1): the weight the track's history keeps each frame (0: no smoothing;
    0.6 halves a change in about 1.4 frames). Tracks unseen for more than `max_missed` frames are
    dropped. Not thread-safe: one tracker per stream."""

    def __init__(self, *, smoothing: float = 0.6, min_iou: float = 0.3, max_missed: int = 10) -> None:
        self.smoothing = smoothing
        self.min_iou = min_iou
        self.max_missed = max_missed
        self.tracks: list[Track] = []
        self._next_id = 1

    @property
    def smoothing(self) -> float:
        return self._smoothing

    @smoothing.setter
    def smoothing(self, value: float) -> None:
        self._smoothing = check_smoothing(value)

    def reset(self) -> None:
        self.tracks, self._next_id = [], 1

    def update(self, boxes: list[Box], probabilities: np.ndarray) -> list[Track]:
        """One frame's boxes and raw (N, 7) probabilities -> the matching tracks, same order."""
        matched = match_boxes([t.box for t in self.tracks], boxes, self.min_iou)
        alpha = np.float32(self._smoothing)
        out: list[Track] = []
        seen: set[int] = set()
        for ci, box in enumerate(boxes):
            probs = np.asarray(probabilities[ci], dtype=np.float32)
            if ci in matched:
                track = self.tracks[matched[ci]]
                track.box, track.missed = box, 0
                track.probabilities = smooth_step(track.probabilities, probs, alpha)
            else:
                track = Track(self._next_id, box, probs.copy())
                self._next_id += 1
                self.tracks.append(track)
            seen.add(id(track))
            out.append(track)
        for track in self.tracks:
            if id(track) not in seen:
                track.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        return out
