"""Benchmark inputs built from real faces that installed packages ship.

Frames: real faces (scikit-image's `astronaut`, plus the other photo-set faces when their
packages can be had, see bench/common/photo_set.py) pasted with some of their surroundings onto a
no-face background (scikit-image's `rocket`) at 640x480 and 1280x720, with 1, 3 or 8 faces.
Face heights follow what a webcam sees: one person at arm's length (35% of the frame height),
three people side by side (25%), eight in two rows (18%).

Photos: the photo set's real photos with faces, as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bench.common.photo_set import TURNED_FACES, Box, Photo, real_photos

RESOLUTIONS: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720))
FACE_COUNTS: tuple[int, ...] = (1, 3, 8)
# face height as a share of the frame height, and the grid the faces sit in, per face count
LAYOUTS: dict[int, tuple[float, int, int]] = {1: (0.35, 1, 1), 3: (0.25, 3, 1), 8: (0.18, 4, 2)}
CONTEXT = 1.7  # tile side / face side: some hair, neck and background around each face


@dataclass(frozen=True)
class Frame:
    key: str  # e.g. "640x480, 3 faces"
    width: int
    height: int
    faces: int
    image: np.ndarray  # RGB uint8
    boxes: tuple[Box, ...]


def face_pool(photos: list[Photo]) -> list[tuple[np.ndarray, Box]]:
    """(RGB photo, face box) for every required face of the real photos, astronaut first
    (it is always there, so the one-face frames do not depend on downloads)."""
    pool = []
    for photo in sorted(photos, key=lambda p: p.name != "astronaut"):
        if photo.group != "real":
            continue
        image = photo.image if photo.image.ndim == 3 else cv2.cvtColor(photo.image, cv2.COLOR_GRAY2RGB)
        if "partial" in photo.name:  # faces cut by the photo border make poor tiles
            continue
        turned = TURNED_FACES.get(photo.name, ())  # near-profile faces: the frames hold frontal ones
        pool += [(image, box) for i, box in enumerate(photo.faces) if i not in turned]
    if not pool:
        raise RuntimeError("no real face to build benchmark frames from (scikit-image missing?)")
    return pool


def face_tile(image: np.ndarray, box: Box, face_px: int) -> tuple[np.ndarray, Box]:
    """A square crop CONTEXT times the face around it (edges replicated), scaled so the face is
    `face_px` tall; returns the tile and the face box inside it."""
    x, y, w, h = box
    side = max(w, h) * CONTEXT
    cx, cy = x + w / 2.0, y + h / 2.0
    pad = int(side)
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    x0, y0 = int(round(cx - side / 2)) + pad, int(round(cy - side / 2)) + pad
    crop = padded[y0 : y0 + int(side), x0 : x0 + int(side)]
    factor = face_px / float(h)
    tile_side = max(1, int(round(crop.shape[0] * factor)))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    tile = cv2.resize(crop, (tile_side, tile_side), interpolation=interp)
    fx = (cx - (x0 - pad)) * factor - w * factor / 2
    fy = (cy - (y0 - pad)) * factor - h * factor / 2
    return tile, (int(round(fx)), int(round(fy)), int(round(w * factor)), int(round(h * factor)))


def background(width: int, height: int) -> np.ndarray:
    from skimage import data

    return cv2.resize(data.rocket(), (width, height), interpolation=cv2.INTER_AREA)


def compose(pool: list[tuple[np.ndarray, Box]], width: int, height: int, faces: int) -> Frame:
    share, cols, rows = LAYOUTS[faces]
    face_px = int(round(height * share))
    cell_w, cell_h = width // cols, height // rows
    canvas = background(width, height)
    boxes: list[Box] = []
    for i in range(faces):
        image, box = pool[i % len(pool)]
        tile, face = face_tile(image, box, face_px)
        side = min(tile.shape[0], cell_w, cell_h)  # a tile never spills into its neighbour
        off = (tile.shape[0] - side) // 2
        tile = tile[off : off + side, off : off + side]
        x = (i % cols) * cell_w + (cell_w - side) // 2
        y = (i // cols) * cell_h + (cell_h - side) // 2
        canvas[y : y + side, x : x + side] = tile
        boxes.append((face[0] - off + x, face[1] - off + y, face[2], face[3]))
    key = f"{width}x{height}, {faces} face{'s' if faces > 1 else ''}"
    return Frame(key, width, height, faces, canvas, tuple(boxes))


def build_frames(download: bool = False) -> tuple[list[Frame], list[Photo], list[str]]:
    """Every benchmark frame (resolution x face count), the real photos, and notes."""
    photos, notes = real_photos(download)
    photos = [p for p in photos if p.group == "real" and p.faces]
    pool = face_pool(photos)
    frames = [compose(pool, w, h, n) for w, h in RESOLUTIONS for n in FACE_COUNTS]
    return frames, photos, notes


def moving_sequence(frame: np.ndarray, length: int = 30, radius: int = 6) -> list[np.ndarray]:
    """`length` copies of a frame shifted along a small circle: a face that moves a little, as
    in a real webcam stream (the tracker and smoothing then do real work)."""
    out = []
    for i in range(length):
        angle = 2 * np.pi * i / length
        dx, dy = int(round(radius * np.cos(angle))), int(round(radius * np.sin(angle)))
        m = np.float32([[1, 0, dx], [0, 1, dy]])
        out.append(cv2.warpAffine(frame, m, (frame.shape[1], frame.shape[0]), borderMode=cv2.BORDER_REPLICATE))
    return out


def save_inputs(path: Path, frames: list[Frame], photos: list[Photo], faces48: np.ndarray,
                labelled: np.ndarray | None) -> Path:
    """One .npz the subprocess probes read (bench.tables.first_result, bench.tables.fer_worker): frame0 is the
    first frame (640x480, one face), then every frame, photo, 48x48 face crop for classifier
    timing, and the labelled faces (if any). Lives in a temporary folder, never in the repo."""
    arrays: dict[str, np.ndarray] = {f"frame{i}": f.image for i, f in enumerate(frames)}
    arrays.update({f"photo{i}": p.image for i, p in enumerate(photos)})
    arrays["faces48"] = faces48
    if labelled is not None:
        arrays["labelled"] = labelled
    meta = {"frames": len(frames), "photos": len(photos), "labelled": labelled is not None}
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)
    return path
