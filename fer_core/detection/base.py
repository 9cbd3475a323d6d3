"""The interface every face detector implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


class DetectorUnavailableError(RuntimeError):
    """A detector's model file or runtime is missing; the message says how to fix it."""


@dataclass(frozen=True)
class Detection:
    """One face in image pixel coordinates."""

    box: tuple[int, int, int, int]  # x, y, width, height
    score: float  # detector confidence in [0, 1] (1.0 for detectors without a score)
    # (K, 2) float32 x, y points where the detector gives them (BlazeFace: right eye, left eye,
    # nose tip, mouth, right ear tragion, left ear tragion), else None.
    landmarks: np.ndarray | None = field(default=None, compare=False)


@runtime_checkable
class FaceDetector(Protocol):
    name: str
    min_score: float

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an RGB (H, W, 3) or grey (H, W) uint8 image, best first."""
        ...
