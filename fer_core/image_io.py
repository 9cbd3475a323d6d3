"""Turn whatever a user hands us (upload, path, bytes) into a clean RGB uint8 array, and back.

Every failure a user can cause (wrong format, damaged file, huge image, missing file) becomes an
`ImageLoadError` whose message is one plain sentence, so the app can show it as is.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from typing import BinaryIO, Final, Literal

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from fer_core.errors import FerError
from fer_core.preprocessing import Box

# 24 MP phone photos must load; 50 MP is ~150 MB as RGB, a sane ceiling for a web app.
MAX_PIXELS: Final[int] = 50_000_000

# Pillow format names we open; MPO (multi-picture JPEG from phones) arrives via the JPEG plugin.
ALLOWED_FORMATS: Final[tuple[str, ...]] = ("JPEG", "PNG", "WEBP", "BMP", "TIFF")
ALLOWED_FORMATS_TEXT: Final[str] = "JPEG, PNG, WebP, BMP or TIFF"
# the file names of those formats: what a folder of photos (CLI, evaluation, training data) is read for
IMAGE_SUFFIXES: Final[frozenset[str]] = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})

ImageSource = bytes | bytearray | memoryview | str | os.PathLike | BinaryIO


class ImageLoadError(FerError, ValueError):
    """The input could not be turned into an image; the message is meant for end users."""


def load_image(
    source: ImageSource,
    *,
    max_pixels: int = MAX_PIXELS,
    name: str | None = None,
) -> np.ndarray:
    """Decode `source` into an RGB uint8 (H, W, 3) C-contiguous, writable array.

    `source` is encoded file bytes, a path, or a binary file-like object (e.g. a Streamlit
    upload). EXIF orientation is applied, transparency is composited on white, high bit depths
    are scaled down to 8 bits, and multi-frame files give their first frame. Images over
    `max_pixels` are refused before any pixel data is decoded. `name` is how messages refer to
    the file (defaults to the file name where one is known).
    """
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")

    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        label = name or os.path.basename(path) or path
        _check_path(path, label)
        try:
            with open(path, "rb") as fp:
                return _decode(fp, label, max_pixels)
        except OSError as exc:  # permission denied, I/O error, etc. while opening
            raise ImageLoadError(f"{_cap(label)} could not be opened ({exc.strerror or exc}).") from exc

    data, default_name = read_source_bytes(source, what="image")
    label = name or default_name or "this file"
    if not data:
        raise ImageLoadError(f"{_cap(label)} is empty (0 bytes), so there is no image to read.")
    return _decode(io.BytesIO(data), label, max_pixels)


def _check_path(path: str, label: str) -> None:
    if not os.path.exists(path):
        raise ImageLoadError(f"There is no file at {path}.")
    if os.path.isdir(path):
        raise ImageLoadError(f"{path} is a folder, not an image file.")
    if os.path.getsize(path) == 0:
        raise ImageLoadError(f"{_cap(label)} is empty (0 bytes), so there is no image to read.")


def read_source_bytes(source: object, *, what: str = "image") -> tuple[bytes, str | None]:
    """Bytes of an in-memory or file-like source, plus its file name if it carries one.

    The one reader for uploads of every kind (images here, videos in `fer_core.video`): bytes-like
    objects are copied, objects with `getvalue()` (BytesIO, a Streamlit upload) give their whole
    buffer whatever the read position, other objects are `read()`. `what` names the kind of file
    in the `TypeError` raised for a text-mode file or an object that is not a file at all.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    file_name = getattr(source, "name", None)
    default_name = os.path.basename(file_name) if isinstance(file_name, str) and file_name else None
    getvalue = getattr(source, "getvalue", None)
    if callable(getvalue):  # BytesIO / Streamlit UploadedFile: whole buffer, whatever the position
        data = getvalue()
    elif callable(getattr(source, "read", None)):
        data = source.read()  # type: ignore[attr-defined]
    else:
        raise TypeError(
            f"expected {what} bytes, a path or a binary file object, got {type(source).__name__}"
        )
    if isinstance(data, str):
        raise TypeError(f"the {what} file must be opened in binary mode ('rb'), not text mode")
    return bytes(data), default_name


def _decode(fp: BinaryIO, label: str, max_pixels: int) -> np.ndarray:
    # Pillow's own bomb guard warns above Image.MAX_IMAGE_PIXELS and raises above twice that.
    # We turn the warning into an error locally (never touching the global limit), unless the
    # caller deliberately allowed more pixels than Pillow's limit: our own check below covers it.
    pillow_limit = Image.MAX_IMAGE_PIXELS
    bomb_action: Literal["ignore", "error"] = "ignore" if pillow_limit is not None and max_pixels > pillow_limit else "error"
    # what a Pillow bomb error actually enforced, for the message
    too_large = (
        f"{_cap(label)} is too large to open safely; the limit is "
        f"{_pixels_text(max_pixels if pillow_limit is None else min(max_pixels, 2 * pillow_limit))}."
    )
    with warnings.catch_warnings():
        warnings.simplefilter(bomb_action, Image.DecompressionBombWarning)
        try:
            im = Image.open(fp, formats=ALLOWED_FORMATS)  # reads the header only
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageLoadError(too_large) from exc
        except UnidentifiedImageError as exc:
            raise ImageLoadError(_unreadable_message(fp, label)) from exc
        except Exception as exc:  # malformed headers surface as assorted exception types
            raise ImageLoadError(f"{_cap(label)} is damaged and could not be read as an image.") from exc

        with im:
            width, height = im.size
            if width < 1 or height < 1:
                raise ImageLoadError(f"{_cap(label)} has no pixels ({width}x{height}).")
            if width * height > max_pixels:
                raise ImageLoadError(
                    f"{_cap(label)} is {width}x{height} pixels ({_pixels_text(width * height)}); "
                    f"the limit is {_pixels_text(max_pixels)}."
                )
            try:
                im.load()  # decodes the first frame only
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                raise ImageLoadError(too_large) from exc
            except MemoryError as exc:
                raise ImageLoadError(f"{_cap(label)} is too large to fit in memory.") from exc
            except Exception as exc:  # truncated data, corrupt streams, decoder errors
                raise ImageLoadError(
                    f"{_cap(label)} looks like a {_format_name(im.format)} image but is damaged or "
                    "incomplete, so it could not be read."
                ) from exc
            _apply_exif_orientation(im)
            return _to_rgb_array(im, label)


def _apply_exif_orientation(im: Image.Image) -> None:
    with contextlib.suppress(Exception):  # a broken EXIF block should not cost the user their photo
        ImageOps.exif_transpose(im, in_place=True)


# Modes holding more than 8 bits per sample; Pillow's own convert() would clip them.
_UNSIGNED_16 = ("I;16", "I;16L", "I;16B", "I;16N")
_HIGH_DEPTH = (*_UNSIGNED_16, "I;16S", "I", "F")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


def _to_rgb_array(im: Image.Image, label: str) -> np.ndarray:
    mode = im.mode
    if mode in _HIGH_DEPTH:
        grey = _high_depth_to_uint8(np.asarray(im), mode)
        return np.ascontiguousarray(np.repeat(grey[:, :, np.newaxis], 3, axis=2))
    if mode in _ALPHA_MODES or "transparency" in im.info:
        return _composite_on_white(np.asarray(im.convert("RGBA")))
    try:
        if mode == "LAB":  # Pillow's plain convert() does not do colour science for LAB
            lab_to_srgb = ImageCms.buildTransform(
                ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
            )
            rgb_im = ImageCms.applyTransform(im, lab_to_srgb)
        else:
            rgb_im = im if mode == "RGB" else im.convert("RGB")
    except Exception as exc:
        raise ImageLoadError(f"{_cap(label)} uses a colour format ({mode}) that we cannot convert.") from exc
    rgb = np.asarray(rgb_im)
    if not rgb.flags.writeable or not rgb.flags.c_contiguous:
        rgb = np.array(rgb, dtype=np.uint8, order="C")  # Pillow hands out read-only views
    return rgb


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Alpha-blend onto a white background with correct rounding."""
    alpha = rgba[:, :, 3:4].astype(np.uint16)
    rgb = rgba[:, :, :3].astype(np.uint16)
    blended = (rgb * alpha + 255 * (255 - alpha) + 127) // 255
    return np.ascontiguousarray(blended.astype(np.uint8))


def _high_depth_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    """Scale 16-bit, 32-bit integer or float grey samples to uint8 without clipping.

    Unsigned 16-bit data uses its full nominal range (0..65535 -> 0..255). Mode "I" and "F"
    carry no nominal range, so we infer it: data that fits in 8 bits stays as is, integer data
    that fits in 16 bits is treated as 16-bit, floats in [0, 1] are treated as intensities,
    and anything else is stretched linearly from its minimum to its maximum.
    """
    data = values.astype(np.float32)
    if mode in _UNSIGNED_16:
        return _round_to_uint8(data * (255.0 / 65535.0))
    finite = np.isfinite(data)
    if not finite.all():
        data = np.where(finite, data, 0.0).astype(np.float32)
    lo, hi = float(data.min()), float(data.max())
    if lo >= 0.0 and hi <= 1.0 and mode == "F":
        return _round_to_uint8(data * 255.0)
    if lo >= 0.0 and hi <= 255.0:
        return _round_to_uint8(data)
    if lo >= 0.0 and hi <= 65535.0 and mode != "F":
        return _round_to_uint8(data * (255.0 / 65535.0))
    return _round_to_uint8((data - lo) * (255.0 / (hi - lo)))  # hi > lo here since hi > 255 or lo < 0


def _round_to_uint8(data: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(data), 0, 255).astype(np.uint8)


# --- friendly messages for things we cannot open -------------------------------------------


def _unreadable_message(fp: BinaryIO, label: str) -> str:
    try:
        fp.seek(0)
        head = fp.read(512)
    except Exception:
        head = b""
    kind = _sniff_kind(head)
    allowed = f"we can read {ALLOWED_FORMATS_TEXT} images"
    if kind is None:
        return f"{_cap(label)} is not an image file we can read ({ALLOWED_FORMATS_TEXT})."
    if kind in ALLOWED_FORMATS:
        return f"{_cap(label)} looks like a {_format_name(kind)} image but is damaged, so it could not be read."
    if kind == "text":
        return f"{_cap(label)} is a text file, not an image; {allowed}."
    return f"{_cap(label)} is {kind} file; {allowed}."


def _sniff_kind(head: bytes) -> str | None:
    """Best guess at what a file we could not open is, from its first bytes."""
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "an AVIF"
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"):
            return "a HEIC/HEIF"
        return "a video (MP4/MOV)"
    signatures = {
        b"%PDF": "a PDF",
        b"8BPS": "a Photoshop (PSD)",
        b"\x00\x00\x01\x00": "an icon (ICO)",
        b"\xff\xd8\xff": "JPEG",
        b"\x89PNG\r\n\x1a\n": "PNG",
        b"BM": "BMP",
        b"II*\x00": "TIFF",
        b"MM\x00*": "TIFF",
    }
    for magic, kind in signatures.items():
        if head.startswith(magic):
            return kind
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    stripped = head.lstrip().lower()
    if stripped.startswith(b"<svg") or (stripped.startswith(b"<?xml") and b"<svg" in stripped):
        return "an SVG"
    if _looks_like_text(head):
        return "text"
    return None


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # a multi-byte character may be cut at the 512-byte boundary
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return all(ch.isprintable() or ch in "\r\n\t\f" for ch in text)


def _format_name(fmt: str | None) -> str:
    return {"WEBP": "WebP", "MPO": "JPEG", None: "known"}.get(fmt, fmt or "known")


def _cap(label: str) -> str:
    """Start a sentence with the label: "this file" -> "This file"; file names stay as they are."""
    return "T" + label[1:] if label.startswith("this ") else label


def _pixels_text(pixels: int) -> str:
    if pixels >= 10_000_000:
        return f"{pixels / 1_000_000:.0f} megapixels"
    if pixels >= 1_000_000:
        return f"{pixels / 1_000_000:.1f} megapixels"
    return f"{pixels:,} pixels"


# --- resizing and encoding ----------------------------------------------------------------


def downscale_for_detection(image: np.ndarray, max_side: int = 1280) -> tuple[np.ndarray, float]:
    """Shrink `image` so its longer side is at most `max_side` (area filter).

    Returns (small, scale) with small ~= original * scale; map boxes found on `small` back
    with `scale_box(box, scale)`. When no shrinking is needed the input itself is returned
    (not a copy) with scale 1.0, so per-frame video use costs nothing.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be positive, got {max_side}")
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
        raise ValueError(f"expected a non-empty (H, W) or (H, W, C) image array, got {getattr(image, 'shape', image)!r}")
    height, width = image.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return image, 1.0
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def scale_box(box: Box, factor: float) -> Box:
    """Map a box found on a downscaled image back to the original: every coordinate / factor.

    `factor` is the scale returned by `downscale_for_detection`.
    """
    if not factor > 0:
        raise ValueError(f"scale factor must be positive, got {factor}")
    x, y, w, h = box
    x0, y0 = round(x / factor), round(y / factor)
    # scale the far corner too so adjacent boxes stay adjacent after rounding
    x1, y1 = round((x + w) / factor), round((y + h) / factor)
    return (int(x0), int(y0), int(x1 - x0), int(y1 - y0))


def encode_png(image_rgb: np.ndarray) -> bytes:
    """RGB (H, W, 3) or grey (H, W) uint8 -> PNG file bytes (for download buttons)."""
    if not isinstance(image_rgb, np.ndarray) or image_rgb.dtype != np.uint8:
        raise ValueError("encode_png expects a uint8 numpy array")
    if image_rgb.ndim == 3 and image_rgb.shape[2] == 3:
        pixels = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)
    elif image_rgb.ndim == 2 or (image_rgb.ndim == 3 and image_rgb.shape[2] == 1):
        pixels = image_rgb
    else:
        raise ValueError(f"encode_png expects an RGB (H, W, 3) or grey (H, W) image, got shape {image_rgb.shape}")
    ok, buffer = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise ValueError("the image could not be encoded as PNG")
    return buffer.tobytes()
