"""Face crop and model-input conversion, shared by training and inference.

Training images (FER2013: 48x48 grey face crops) and faces cut out of photos go through
`to_model_input`, so a model sees the same pixel statistics in both places.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

INPUT_SIZE = 48  # FER2013 resolution; every shipped model takes (N, 48, 48, 1) float32 in [0, 1]

# FER2013 crops run from the forehead to the chin with a little background; detector boxes are
# tighter (brows to mouth), so we widen them by this fraction of the box size on each side.
DEFAULT_MARGIN = 0.15

Box = tuple[int, int, int, int]  # x, y, width, height in pixels


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """RGB (H, W, 3), RGBA or grey (H, W) uint8 -> grey (H, W) uint8."""
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2GRAY)
    raise ValueError(f"expected a grey, RGB or RGBA image, got shape {image.shape}")


def square_box(box: Box, margin: float = DEFAULT_MARGIN) -> Box:
    """The square around `box`'s centre whose side is the longer box side plus `margin` each side."""
    x, y, w, h = box
    side = max(w, h) * (1.0 + 2.0 * margin)
    cx, cy = x + w / 2.0, y + h / 2.0
    half = side / 2.0
    return (int(round(cx - half)), int(round(cy - half)), int(round(side)), int(round(side)))


def crop_face(gray: np.ndarray, box: Box, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """Square crop around a face box; parts outside the image are filled by edge replication
    so faces at the border keep their position in the crop."""
    sx, sy, side, _ = square_box(box, margin)
    side = max(side, 1)
    h, w = gray.shape[:2]
    pad_l, pad_t = max(0, -sx), max(0, -sy)
    pad_r, pad_b = max(0, sx + side - w), max(0, sy + side - h)
    x0, y0 = max(0, sx), max(0, sy)
    x1, y1 = min(w, sx + side), min(h, sy + side)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"face box {box} lies outside the {w}x{h} image")
    crop = gray[y0:y1, x0:x1]
    if pad_l or pad_t or pad_r or pad_b:
        crop = cv2.copyMakeBorder(crop, pad_t, pad_b, pad_l, pad_r, cv2.BORDER_REPLICATE)
    return crop


def resize_face(face: np.ndarray) -> np.ndarray:
    """Grey crop of any size -> INPUT_SIZE x INPUT_SIZE uint8 (area filter when shrinking)."""
    if face.shape[:2] == (INPUT_SIZE, INPUT_SIZE):
        return face
    shrinking = face.shape[0] > INPUT_SIZE or face.shape[1] > INPUT_SIZE
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(face, (INPUT_SIZE, INPUT_SIZE), interpolation=interp)


def to_model_input(faces: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """Grey uint8 faces (a list of crops of any size, or an (N, 48, 48) array) -> the model's
    input: float32 (N, 48, 48, 1) scaled to [0, 1]."""
    if isinstance(faces, np.ndarray) and faces.ndim == 3 and faces.shape[1:] == (INPUT_SIZE, INPUT_SIZE):
        batch = faces
    else:
        batch = np.stack([resize_face(to_grayscale(f)) for f in faces]) if len(faces) else np.zeros(
            (0, INPUT_SIZE, INPUT_SIZE), np.uint8
        )
    return (batch.astype(np.float32) * (1.0 / 255.0))[..., np.newaxis]
