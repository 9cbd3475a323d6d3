"""Training-time augmentation as Keras layers: they run inside the compiled training step (on the
GPU when there is one) and are inactive at inference, so the input pipeline never starves."""

from __future__ import annotations

import keras
from keras import layers


def augmentation(seed: int = 0, strength: float = 1.0) -> keras.Sequential:
    """Random shift, flip, rotation (±10°), zoom, brightness and contrast for [0, 1] grey faces."""
    s = strength
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(10.0 / 360.0 * s, fill_mode="reflect", seed=seed + 1),
            layers.RandomZoom((-0.1 * s, 0.1 * s), fill_mode="reflect", seed=seed + 2),
            layers.RandomTranslation(0.1 * s, 0.1 * s, fill_mode="reflect", seed=seed + 3),
            layers.RandomBrightness(0.2 * s, value_range=(0.0, 1.0), seed=seed + 4),
            layers.RandomContrast(0.3 * s, value_range=(0.0, 1.0), seed=seed + 5),
        ],
        name="augment",
    )
