"""The one place that defines the emotion classes, their order and their colours."""

from __future__ import annotations

# Index order of the FER2013 challenge CSV (column `emotion`); every model outputs this order.
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(EMOTIONS)
# The answer when no face is in view or found: a row of the live summary, a column of photo results.
NO_FACE = "no face"

# One colour per emotion (RGB), chosen to stay distinguishable for common colour-vision deficiencies
# (Okabe-Ito palette plus grey for neutral).
EMOTION_COLORS_RGB: dict[str, tuple[int, int, int]] = {
    "angry": (213, 94, 0),
    "disgust": (0, 158, 115),
    "fear": (204, 121, 167),
    "happy": (240, 228, 66),
    "sad": (0, 114, 178),
    "surprise": (230, 159, 0),
    "neutral": (170, 170, 170),
}


def emotion_index(name: str) -> int:
    """Index of an emotion name (case-insensitive); raises ValueError for unknown names."""
    try:
        return EMOTIONS.index(name.strip().lower())
    except ValueError:
        raise ValueError(f"unknown emotion {name!r}; expected one of {', '.join(EMOTIONS)}") from None
