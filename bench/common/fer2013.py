"""The labelled faces for the accuracy comparison: FER2013 PrivateTest, read where it lies.

    ../shared/data/fer2013/test/<emotion>/PrivateTest_*.jpg     (48x48 grey, read-only)

Nothing is copied: the images are read into memory for one run. `per_class` takes a fixed
stratified subset (the first N files of each class by name) for quick runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bench.common import ROOT
from fer_core.labels import EMOTIONS

DEFAULT_ROOT = ROOT.parent / "shared" / "data" / "fer2013"
ROOT_ENV = "FER_BENCH_FER2013"  # another folder of the same layout


@dataclass(frozen=True)
class LabelledFaces:
    description: str
    images: np.ndarray  # uint8 (N, 48, 48)
    labels: np.ndarray  # int64 (N,), EMOTIONS order
    # the FER+ majority per face (fer_core.training.votes.majority; -1: not an emotion or no
    # votes); None when ferplus/votes.csv is not beside the FER2013 folder
    majority: np.ndarray | None = None


def fer2013_root() -> Path:
    env = os.environ.get(ROOT_ENV)
    return Path(env) if env else DEFAULT_ROOT


def load_private_test(root: Path | None = None, per_class: int | None = None) -> LabelledFaces | None:
    """PrivateTest faces and labels, or None when the folder is absent or holds none."""
    return load_test_split("PrivateTest", root, per_class)


def load_test_split(split: str, root: Path | None = None, per_class: int | None = None) -> LabelledFaces | None:
    """One official test split's faces and labels (PrivateTest, or PublicTest, which selects
    models), or None when the folder is absent or holds none."""
    base = root or fer2013_root()
    root = base / "test"
    images, labels, paths = [], [], []
    for label, emotion in enumerate(EMOTIONS):
        files = sorted((root / emotion).glob(f"{split}_*.jpg")) if (root / emotion).is_dir() else []
        for path in files[:per_class] if per_class else files:
            face = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if face is None:
                continue
            if face.shape != (48, 48):
                face = cv2.resize(face, (48, 48), interpolation=cv2.INTER_AREA)
            images.append(face)
            labels.append(label)
            paths.append(str(path))
    if not images:
        return None
    subset = f"a stratified subset (first {per_class} files per class by name)" if per_class else "all images"
    return LabelledFaces(f"FER2013 {split}, {subset}: {len(images)} faces",
                         np.stack(images), np.asarray(labels, dtype=np.int64), _majority(base, paths))


def _majority(base: Path, paths: list[str]) -> np.ndarray | None:
    from fer_core.training.votes import default_votes_path, load_votes, majority, votes_for

    votes = default_votes_path(base)
    return majority(votes_for(paths, base, load_votes(votes))) if votes.is_file() else None


def agreement(predicted: np.ndarray, faces: LabelledFaces) -> float | None:
    """Top-1 agreement with the FER+ majority on the faces that have an emotion majority."""
    if faces.majority is None or not (faces.majority >= 0).any():
        return None
    keep = faces.majority >= 0
    return round(float(np.mean(np.asarray(predicted)[keep] == faces.majority[keep])), 4)


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    return round(float(np.mean(np.asarray(predicted) == labels)), 4)
