"""Loaders for the FER2013 layouts users have: an image folder and the challenge CSV.

Both return a `FerDataset`: uint8 (N, 48, 48) faces and int labels in EMOTIONS order, per split.
Splits: "train" (model fitting), "val" (model and epoch selection), "test" (final report).
With FER2013's file prefixes (Training_/PublicTest_/PrivateTest_) the official split is kept:
train=Training, val=PublicTest, test=PrivateTest.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from fer_core.errors import FerError
from fer_core.image_io import IMAGE_SUFFIXES
from fer_core.labels import EMOTIONS, NUM_CLASSES
from fer_core.preprocessing import resize_face

SPLITS = ("train", "val", "test")
_PREFIX_SPLIT = {"training": "train", "publictest": "val", "privatetest": "test"}
_CSV_USAGE_SPLIT = {"training": "train", "publictest": "val", "privatetest": "test"}


class DatasetError(FerError, ValueError):
    """The data folder or CSV is missing or not in a layout we understand."""


@dataclass
class Split:
    images: np.ndarray  # uint8 (N, 48, 48)
    labels: np.ndarray  # int64 (N,)
    paths: list[str] = field(default_factory=list)  # source files (empty for CSV data)
    # FER+ votes (N, 10): the 7 classes in EMOTIONS order, then contempt, unknown, not-a-face
    # (fer_core.training.votes); None when no vote file was attached, NaN rows for faces without votes
    votes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=NUM_CLASSES)


@dataclass
class FerDataset:
    source: str  # what was loaded, for metrics and model cards
    splits: dict[str, Split]
    split_note: str  # how the splits were made
    votes_source: str = ""  # the FER+ vote file attached, if any

    def __getitem__(self, split: str) -> Split:
        if split not in self.splits:
            raise DatasetError(f"{self.source} has no {split!r} split (has {', '.join(self.splits)})")
        return self.splits[split]


def load_dataset(path: str | os.PathLike, *, val_fraction: float = 0.1, seed: int = 0) -> FerDataset:
    """Load an image folder (`train/<emotion>/`, `test/<emotion>/`) or a challenge CSV."""
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"data path {p} does not exist")
    if p.is_file() and p.suffix.lower() == ".csv":
        return load_csv(p)
    if p.is_dir():
        return load_image_folder(p, val_fraction=val_fraction, seed=seed)
    raise DatasetError(f"{p} is neither a folder of images nor a .csv file")


def _read_gray(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise DatasetError(f"cannot read image {path}")
    return resize_face(img)


def _list_folder(root: Path) -> list[tuple[str, int]]:
    items: list[tuple[str, int]] = []
    for idx, emotion in enumerate(EMOTIONS):
        class_dir = root / emotion
        if not class_dir.is_dir():
            continue
        for f in sorted(class_dir.iterdir()):
            if f.suffix.lower() in IMAGE_SUFFIXES:
                items.append((str(f), idx))
    return items


def _official_split(path: str) -> str | None:
    prefix = os.path.basename(path).split("_", 1)[0].lower()
    return _PREFIX_SPLIT.get(prefix)


def _stack(items: list[tuple[str, int]]) -> Split:
    paths = [p for p, _ in items]
    with ThreadPoolExecutor(max_workers=8) as pool:  # JPEG decoding releases the GIL
        images = list(pool.map(_read_gray, paths))
    arr = np.stack(images) if images else np.zeros((0, 48, 48), np.uint8)
    return Split(arr, np.array([y for _, y in items], dtype=np.int64), paths)


def class_weights(labels: np.ndarray, power: float) -> dict[int, float]:
    """Loss weights against class imbalance (FER2013's disgust is 1.5% of training):
    proportional to (n_max / n_c) ** power, normalised to mean 1 over samples. Power 0.5 (the
    default) lifts disgust about 4x without the over-prediction full inverse frequency causes."""
    counts = np.bincount(labels, minlength=NUM_CLASSES).astype(np.float64)
    raw = np.where(counts > 0, (counts.max() / np.maximum(counts, 1)) ** power, 0.0)
    raw /= (raw * counts).sum() / counts.sum()
    return {i: float(w) for i, w in enumerate(raw)}


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, carved) with `fraction` of every class carved out."""
    rng = np.random.default_rng(seed)
    keep, carved = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n = int(round(len(idx) * fraction))
        carved.append(idx[:n])
        keep.append(idx[n:])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(carved))


def _subset(split: Split, idx: np.ndarray) -> Split:
    votes = None if split.votes is None else split.votes[idx]
    return Split(split.images[idx], split.labels[idx], [split.paths[i] for i in idx] if split.paths else [], votes)


def attach_votes(dataset: FerDataset, votes_path: str | os.PathLike) -> FerDataset:
    """Give every split of an image-folder dataset its faces' FER+ votes (in place; returned).
    Files are matched by their path relative to the dataset folder, as votes.csv names them."""
    from fer_core.training.votes import VotesError, load_votes, votes_for

    root = Path(dataset.source)
    if not root.is_dir():
        raise VotesError(f"FER+ votes are keyed by file name: {dataset.source} is not an image folder")
    table = load_votes(votes_path)
    for split in dataset.splits.values():
        split.votes = votes_for(split.paths, root, table)
    dataset.votes_source = str(votes_path)
    return dataset


def with_emotion_majority(split: Split) -> Split:
    """The faces whose FER+ majority is one of the 7 classes, labelled with that majority: the
    FER+ benchmark's faces and labels."""
    from fer_core.training.votes import NOT_AN_EMOTION, VotesError, majority

    if split.votes is None:
        raise VotesError("this split has no FER+ votes attached (attach_votes)")
    major = majority(split.votes)
    keep = np.flatnonzero(major != NOT_AN_EMOTION)
    sub = _subset(split, keep)
    sub.labels = major[keep]
    return sub


def load_image_folder(root: Path, *, val_fraction: float = 0.1, seed: int = 0) -> FerDataset:
    train_dir, test_dir = root / "train", root / "test"
    if not train_dir.is_dir():
        raise DatasetError(
            f"{root} has no train/ folder; expected train/<emotion>/*.jpg and test/<emotion>/*.jpg "
            f"with emotions {', '.join(EMOTIONS)}"
        )
    items = _list_folder(train_dir) + (_list_folder(test_dir) if test_dir.is_dir() else [])
    if not items:
        raise DatasetError(f"no images found under {root}/train/<emotion>/")
    official = [_official_split(p) for p, _ in items]
    if all(s is not None for s in official):
        grouped: dict[str, list[tuple[str, int]]] = {s: [] for s in SPLITS}
        for item, s in zip(items, official):
            grouped[s].append(item)  # type: ignore[index]
        splits = {s: _stack(v) for s, v in grouped.items() if v}
        note = "official FER2013 split from file prefixes: train=Training, val=PublicTest, test=PrivateTest"
    else:
        train_full = _stack(_list_folder(train_dir))
        keep, carved = stratified_split(train_full.labels, val_fraction, seed)
        splits = {"train": _subset(train_full, keep), "val": _subset(train_full, carved)}
        if test_dir.is_dir() and _list_folder(test_dir):
            splits["test"] = _stack(_list_folder(test_dir))
        note = f"train/ with a stratified {val_fraction:.0%} validation carve-out (seed {seed}); test=test/"
    return FerDataset(str(root), splits, note)


def load_csv(path: Path) -> FerDataset:
    """The original challenge CSV: columns emotion, pixels (2304 space-separated ints), Usage."""
    rows: dict[str, tuple[list[np.ndarray], list[int]]] = {s: ([], []) for s in SPLITS}
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"emotion", "pixels"} - set(reader.fieldnames or [])
        if missing:
            raise DatasetError(f"{path} lacks column(s) {', '.join(sorted(missing))}")
        for line_no, row in enumerate(reader, start=2):
            usage = (row.get("Usage") or "Training").strip().lower()
            split = _CSV_USAGE_SPLIT.get(usage)
            if split is None:
                raise DatasetError(f"{path}:{line_no}: unknown Usage {row.get('Usage')!r}")
            try:
                values = np.array([int(v) for v in (row["pixels"] or "").split()], dtype=np.int64)
                label = int(row["emotion"] or "")
            except ValueError:
                raise DatasetError(f"{path}:{line_no}: emotion and pixels must be whole numbers") from None
            if values.size != 48 * 48:
                raise DatasetError(f"{path}:{line_no}: expected 2304 pixels, got {values.size}")
            if values.min() < 0 or values.max() > 255:
                raise DatasetError(f"{path}:{line_no}: pixel values must lie in 0..255")
            if not 0 <= label < NUM_CLASSES:
                raise DatasetError(f"{path}:{line_no}: emotion {label} is not one of 0..{NUM_CLASSES - 1}")
            rows[split][0].append(values.astype(np.uint8).reshape(48, 48))
            rows[split][1].append(label)
    splits = {
        s: Split(np.stack(imgs), np.array(labels, dtype=np.int64)) for s, (imgs, labels) in rows.items() if imgs
    }
    return FerDataset(str(path), splits, "challenge CSV Usage column: Training/PublicTest/PrivateTest")


def write_image_folder(root: Path, images: Iterable[np.ndarray], labels: Iterable[int], prefixes: Iterable[str]) -> None:
    """Write faces in the image-folder layout (used by tests to make small datasets)."""
    for i, (img, label, prefix) in enumerate(zip(images, labels, prefixes)):
        sub = "test" if prefix in ("PublicTest", "PrivateTest") else "train"
        d = root / sub / EMOTIONS[label]
        d.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / f"{prefix}_{i:06d}.png"), img)
