"""Face crop and model-input conversion, shared by training and inference.

Training images (FER2013: 48x48 grey face crops) and faces cut out of photos go through
`to_model_input`, so a model sees the same pixel statistics in both places.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from fer_core.errors import UnusableImageError

INPUT_SIZE = 48  # FER2013 resolution; every shipped model takes (N, 48, 48, 1) float32 in [0, 1]

# Where the classifier's square sits relative to a detector's face box: measured, not guessed.
# `python -m bench.studies.framing` places FER2013 training faces back into a larger frame, runs the
# default detector (BlazeFace) on them and fits the box -> 48x48-frame mapping (about scale 1.16,
# shift_y -0.07; bench/results/framing.md). End to end on real photos
# (`python -m bench.studies.photo_settings`, bench/results/photo_settings.md) a tighter, higher crop
# classified better and held up when chosen on some people and scored on others, so the grid's
# choice for the default model is the default (re-chosen when plain_vgg became the default: the
# same scale, a crop less high). Eye levelling: about neutral on upright faces, large gains on
# tilted ones. Rerun both when the models or the detector change.
FRAMING_SCALE = 0.92  # crop side / longer box side
FRAMING_SHIFT_X = 0.0  # crop centre minus box centre, in box widths (+: towards image right)
FRAMING_SHIFT_Y = -0.03  # in box heights (+: towards the chin)
ALIGN_EYES = True  # rotate so the eyes are level (where the detector gives eye landmarks)

Box = tuple[int, int, int, int]  # x, y, width, height in pixels


@dataclass(frozen=True)
class Framing:
    """How a detector's face box becomes the square the classifier sees. The one definition of
    the crop: photos, video, webcam, the command line and the benchmarks all go through it."""

    scale: float = FRAMING_SCALE
    shift_x: float = FRAMING_SHIFT_X
    shift_y: float = FRAMING_SHIFT_Y
    align: bool = ALIGN_EYES
    aspect: float = 1.0  # crop width / height before the resize to 48x48 (FER2013: square)

    @classmethod
    def from_margin(cls, margin: float, *, align: bool = False) -> Framing:
        """The old centred square: the longer box side plus `margin` of it on each side."""
        return cls(scale=1.0 + 2.0 * margin, shift_x=0.0, shift_y=0.0, align=align)


DEFAULT_FRAMING = Framing()

# Detectors draw boxes differently: Haar's box is larger and sits higher than BlazeFace's on the same
# face, so the same crop needs other numbers. bench.studies.photo_settings maps each detector's box onto
# BlazeFace's on the same photos and carries the crop over (its "Other detectors" table); the
# BlazeFace variants' boxes agree with the default's, so they share it. Haar gives no landmarks,
# so nothing to level.
DETECTOR_FRAMINGS: dict[str, Framing] = {
    "haar": Framing(scale=0.85, shift_x=0.0, shift_y=0.03, align=False),
}


def framing_for(detector: str) -> Framing:
    """The crop for boxes of the detector named `detector` (the default for any other name)."""
    return DETECTOR_FRAMINGS.get(detector, DEFAULT_FRAMING)


@dataclass(frozen=True)
class CropRegion:
    """A (possibly rotated) rectangle in image pixels: centre, size and the roll it undoes."""

    cx: float
    cy: float
    width: float
    height: float
    angle: float  # degrees, the face's roll (eyes line vs horizontal, image y pointing down)


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
    raise UnusableImageError(f"expected a grey, RGB or RGBA image, got shape {image.shape}")


def eye_roll(landmarks: np.ndarray | None) -> float | None:
    """The face's roll in degrees from BlazeFace keypoints (row 0: right eye, row 1: left eye,
    i.e. image left then image right for a frontal face); None without landmarks."""
    if landmarks is None or len(landmarks) < 2:
        return None
    (rx, ry), (lx, ly) = np.asarray(landmarks[:2], dtype=np.float64)
    if not np.isfinite([rx, ry, lx, ly]).all() or (lx == rx and ly == ry):
        return None
    return float(np.degrees(np.arctan2(ly - ry, lx - rx)))


def crop_region(box: Box, framing: Framing = DEFAULT_FRAMING, landmarks: np.ndarray | None = None) -> CropRegion:
    """The box -> crop mapping. The shift is applied along the face's own axes, so a rolled
    face keeps the same framing once levelled."""
    x, y, w, h = box
    roll = eye_roll(landmarks) if framing.align else None
    angle = 0.0 if roll is None else roll
    t = np.radians(angle)
    right = np.array([np.cos(t), np.sin(t)])  # the face's x axis in the image
    down = np.array([-np.sin(t), np.cos(t)])  # the face's y axis (forehead -> chin)
    centre = np.array([x + w / 2.0, y + h / 2.0]) + framing.shift_x * w * right + framing.shift_y * h * down
    side = max(w, h) * framing.scale
    return CropRegion(float(centre[0]), float(centre[1]), side * np.sqrt(framing.aspect),
                      side / np.sqrt(framing.aspect), angle)


def square_box(box: Box, margin: float) -> Box:
    """The old centred square (kept for callers that need an axis-aligned box)."""
    r = crop_region(box, Framing.from_margin(margin))
    return (int(round(r.cx - r.width / 2)), int(round(r.cy - r.height / 2)), int(round(r.width)), int(round(r.height)))


def crop_matrix(region: CropRegion) -> tuple[np.ndarray, tuple[int, int]]:
    """The 2x3 affine matrix taking image pixels into the crop (rotated to undo the roll) and
    the crop's size in pixels (native resolution: resize_face shrinks it with an area filter)."""
    out_w, out_h = max(1, int(round(region.width))), max(1, int(round(region.height)))
    matrix = cv2.getRotationMatrix2D((region.cx, region.cy), region.angle, 1.0)
    matrix[0, 2] += out_w / 2.0 - region.cx
    matrix[1, 2] += out_h / 2.0 - region.cy
    return matrix, (out_w, out_h)


def crop_face(gray: np.ndarray, box: Box, framing: Framing = DEFAULT_FRAMING,
              landmarks: np.ndarray | None = None) -> np.ndarray:
    """The face as the classifier should see it (before the resize): framed by `framing`,
    levelled when it says so and landmarks are given. Parts outside the image are filled by
    edge replication, so faces at the border keep their position in the crop."""
    h, w = gray.shape[:2]
    x, y, bw, bh = box
    if bw <= 0 or bh <= 0 or x >= w or y >= h or x + bw <= 0 or y + bh <= 0:
        raise ValueError(f"face box {box} lies outside the {w}x{h} image")
    matrix, size = crop_matrix(crop_region(box, framing, landmarks))
    return cv2.warpAffine(gray, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


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
