"""FER+ crowd votes (Barsoum et al. 2016, MIT): ten people's answers for every FER2013 face.

`votes.csv` (see ../shared/data/ferplus/README.md) holds, per FER2013 file, 0-10 votes for the 7
FER2013 classes plus contempt, unknown ("cannot tell") and NF ("not a face"). Here they become
an (N, 10) float array per split: the 7 classes in EMOTIONS order, then contempt, unknown, NF.

What the rest of the code asks of them:
- `majority`: the benchmark label (top-1 against the most voted answer). A face counts only when
  an emotion has the most votes; ties between emotions go to FER+'s own column order (neutral,
  happiness, surprise, sadness, anger, disgust, fear), which reproduces the 3,516 PrivateTest
  faces the issue and the literature count.
- `emotion_distribution`: the training target, the votes over the 7 classes renormalised
  (contempt, unknown and not-a-face votes are dropped: no class of ours can answer them).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from fer_core.labels import EMOTIONS
from fer_core.training.data import DatasetError

# FER+ column for each of our classes, in EMOTIONS order
FERPLUS_COLUMN = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness",
                  "sad": "sadness", "surprise": "surprise", "neutral": "neutral"}
EXTRA_COLUMNS = ("contempt", "unknown", "NF")
VOTE_COLUMNS = tuple(FERPLUS_COLUMN[e] for e in EMOTIONS) + EXTRA_COLUMNS
# FER+'s own column order of the 7 emotions, as indices into EMOTIONS: breaks ties in `majority`
_FERPLUS_ORDER = tuple(EMOTIONS.index(e) for e in ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear"))
NOT_AN_EMOTION = -1


class VotesError(DatasetError):
    """The vote file is missing or not in FER+'s layout."""


def default_votes_path(data: str | os.PathLike) -> Path:
    """Where the votes sit next to a FER2013 folder: `<data>/../ferplus/votes.csv`."""
    return Path(data).resolve().parent / "ferplus" / "votes.csv"


def load_votes(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """file (relative to the FER2013 folder, e.g. `test/angry/PrivateTest_1.jpg`) -> (10,) votes."""
    p = Path(path)
    if not p.is_file():
        raise VotesError(f"FER+ vote file {p} does not exist (expected ferplus/votes.csv beside the FER2013 folder)")
    with open(p, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"file", *VOTE_COLUMNS} - set(reader.fieldnames or [])
        if missing:
            raise VotesError(f"{p} lacks column(s) {', '.join(sorted(missing))}")
        try:
            return {row["file"]: np.array([float(row[c]) for c in VOTE_COLUMNS], np.float32) for row in reader}
        except ValueError:
            raise VotesError(f"{p}: vote counts must be numbers") from None


def votes_for(paths: list[str], root: str | os.PathLike, table: dict[str, np.ndarray]) -> np.ndarray:
    """(N, 10) votes for image files under `root`; NaN rows for files FER+ has no votes for."""
    base = Path(root).resolve()
    out = np.full((len(paths), len(VOTE_COLUMNS)), np.nan, np.float32)
    for i, p in enumerate(paths):
        key = Path(p).resolve().relative_to(base).as_posix()
        if key in table:
            out[i] = table[key]
    return out


def majority(votes: np.ndarray) -> np.ndarray:
    """The most voted emotion per face in EMOTIONS indices, NOT_AN_EMOTION where contempt,
    unknown or not-a-face has more votes than every emotion, or the face has no votes."""
    votes = np.asarray(votes, np.float64)
    emo = np.nan_to_num(votes[:, : len(EMOTIONS)], nan=-1.0)
    ordered = emo[:, _FERPLUS_ORDER]
    winner = np.asarray(_FERPLUS_ORDER)[np.argmax(ordered, axis=1)]
    best = ordered.max(axis=1)
    extra = np.nan_to_num(votes[:, len(EMOTIONS):], nan=0.0).max(axis=1)
    ok = ~np.isnan(votes).any(axis=1) & (best >= extra) & (best > 0)
    return np.where(ok, winner, NOT_AN_EMOTION).astype(np.int64)


def emotion_distribution(votes: np.ndarray) -> np.ndarray:
    """Votes over the 7 classes, each row summing to 1 (zeros where no emotion got a vote)."""
    emo = np.nan_to_num(np.asarray(votes, np.float32)[:, : len(EMOTIONS)], nan=0.0)
    total = emo.sum(axis=1, keepdims=True)
    return np.divide(emo, total, out=np.zeros_like(emo), where=total > 0)


def top1_has_votes(pred: np.ndarray, votes: np.ndarray, minimum: int = 2) -> np.ndarray:
    """Per face: did the predicted class get at least `minimum` of the votes?"""
    emo = np.nan_to_num(np.asarray(votes)[:, : len(EMOTIONS)], nan=0.0)
    return emo[np.arange(len(pred)), pred] >= minimum
