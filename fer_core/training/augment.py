"""Training-time augmentation in NumPy/OpenCV, one whole epoch at a time.

It runs on a background thread while the previous epoch trains (OpenCV releases the GIL), so
the training step runs at the speed of the network: about 1 s of one core per FER2013 epoch,
against minutes of training. Keras preprocessing layers inside the step cost more than the
small networks we train on CPU (measured: the old in-graph pipeline trained at 48-235 img/s).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Strengths of each transform; `scaled(s)` multiplies them all (0 turns augmentation off)."""

    flip: float = 0.5  # probability of a horizontal mirror
    rotate_deg: float = 10.0  # uniform in +-rotate_deg
    scale: float = 0.1  # zoom factor uniform in 1 +- scale
    shift: float = 0.1  # translation uniform in +- shift * 48 pixels
    brightness: float = 0.15  # additive, in [0, 1] units
    contrast: float = 0.25  # multiplicative factor uniform in 1 +- contrast, around the image mean
    erase: float = 0.5  # probability of random erasing (Zhong et al. 2017)
    erase_area: tuple[float, float] = (0.02, 0.2)  # fraction of the face erased

    def scaled(self, s: float) -> AugmentConfig:
        lo, hi = self.erase_area
        return AugmentConfig(min(self.flip, self.flip * s), self.rotate_deg * s, self.scale * s, self.shift * s,
                             self.brightness * s, self.contrast * s, min(1.0, self.erase * s), (lo, hi))


def augment_batch(images: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig = AugmentConfig()) -> np.ndarray:
    """uint8 (N, H, W) faces -> augmented float32 (N, H, W, 1) in [0, 1] (the model's input range,
    see fer_core.preprocessing.to_model_input)."""
    n, h, w = images.shape
    out = np.empty((n, h, w), np.float32)
    angles = np.asarray(rng.uniform(-cfg.rotate_deg, cfg.rotate_deg, size=n))
    scales = np.asarray(rng.uniform(1.0 - cfg.scale, 1.0 + cfg.scale, size=n))
    shifts = rng.uniform(-cfg.shift, cfg.shift, size=(n, 2)) * (w, h)
    flips = np.less(rng.random(n), cfg.flip)
    centre = ((w - 1) / 2.0, (h - 1) / 2.0)
    for i in range(n):
        img = images[i, :, ::-1] if flips[i] else images[i]
        m = cv2.getRotationMatrix2D(centre, float(angles[i]), float(scales[i]))
        m[:, 2] += shifts[i]
        out[i] = cv2.warpAffine(np.ascontiguousarray(img), m, (w, h), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT_101)
    out *= 1.0 / 255.0
    if cfg.contrast or cfg.brightness:
        mean = out.mean(axis=(1, 2), keepdims=True)
        gain = rng.uniform(1.0 - cfg.contrast, 1.0 + cfg.contrast, (n, 1, 1)).astype(np.float32)
        bias = rng.uniform(-cfg.brightness, cfg.brightness, (n, 1, 1)).astype(np.float32)
        out = (out - mean) * gain + mean + bias
    if cfg.erase:
        _random_erase(out, rng, cfg)
    np.clip(out, 0.0, 1.0, out=out)
    return out[..., np.newaxis]


def _random_erase(batch: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> None:
    """In place: a rectangle of uniform noise over a random part of some faces."""
    n, h, w = batch.shape
    chosen = np.flatnonzero(rng.random(n) < cfg.erase)
    areas = rng.uniform(*cfg.erase_area, len(chosen)) * h * w
    ratios = np.exp(rng.uniform(np.log(0.3), np.log(3.3), len(chosen)))
    eh = np.clip(np.sqrt(areas * ratios).astype(int), 1, h)
    ew = np.clip(np.sqrt(areas / ratios).astype(int), 1, w)
    for i, hh, ww in zip(chosen, eh, ew):
        y, x = rng.integers(0, h - hh + 1), rng.integers(0, w - ww + 1)
        batch[i, y:y + hh, x:x + ww] = rng.random((hh, ww), dtype=np.float32)
