"""Draw recognition results onto images: a coloured box and label tag per face, optional
probability bars, and a small text readout for video.

Everything is drawn with OpenCV onto one copy of the frame, so a 640x480 frame with a few faces
costs well under a millisecond per face. Sizes scale with the image (so labels stay legible
when a 6000x4000 photo is shown shrunk to screen width) and with the face box (so a small face
in a big group photo does not get a label wider than a neighbour's head).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import cv2
import numpy as np

from fer_core.labels import EMOTION_COLORS_RGB, EMOTIONS

Color = tuple[int, int, int]
Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 with x1/y1 exclusive

FONT = cv2.FONT_HERSHEY_SIMPLEX
FALLBACK_COLOR: Color = (255, 255, 255)  # for emotion names we have no colour for
PANEL_BACKGROUND: Color = (40, 40, 40)
BAR_TRACK: Color = (90, 90, 90)
MIN_FONT_SCALE = 0.3  # below this Hershey text is unreadable anyway
CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")


class FaceLike(Protocol):
    """What draw_faces needs from a face result (the pipeline's FaceResult satisfies it).

    A face may also carry `probabilities`: a mapping emotion -> probability, or a sequence of
    len(EMOTIONS) floats in EMOTIONS order; it is used only for the probability bars.
    """

    @property
    def box(self) -> tuple[int, int, int, int]: ...  # x, y, width, height in image pixels

    @property
    def face_id(self) -> int: ...

    @property
    def emotion(self) -> str: ...

    @property
    def confidence(self) -> float: ...  # in [0, 1]


@dataclass(frozen=True)
class FaceStyle:
    """Pixel sizes for one face's annotations."""

    thickness: int  # box frame width, drawn inside the box
    font_scale: float
    text_thickness: int
    padding: int  # space between label text and tag border


@dataclass(frozen=True)
class LabelLayout:
    style: FaceStyle
    rect: Rect  # the filled tag, always inside the image
    origin: tuple[int, int]  # cv2.putText origin (bottom-left of the text)


# --- public drawing functions ---------------------------------------------------------------


def draw_faces(
    image_rgb: np.ndarray,
    faces: Sequence[FaceLike],
    *,
    show_probabilities: bool = False,
) -> np.ndarray:
    """An annotated copy of `image_rgb` (RGB uint8 (H, W, 3), or grey (H, W) which yields RGB).

    Each face gets a frame in its emotion's colour and a tag "#<id> <emotion> <confidence>%";
    with `show_probabilities`, faces that carry probabilities also get a small bar chart.
    The input is never modified.
    """
    canvas = _rgb_copy(image_rgb, "draw_faces")
    height, width = canvas.shape[:2]
    tags: list[tuple[LabelLayout, str, Color]] = []
    for face in faces:
        box = _visible_box(face.box, width, height)
        if box is None:  # entirely off-image: nothing to show
            continue
        color = emotion_color(face.emotion)
        text = format_label(face)
        layout = label_layout(canvas.shape, box, text)
        _draw_frame(canvas, box, layout.style.thickness, color)
        if show_probabilities:
            probabilities = face_probabilities(face)
            if probabilities is not None:
                _draw_probability_panel(canvas, box, probabilities, layout.style)
        tags.append((layout, text, color))
    for layout, text, color in tags:  # tags last, so no frame or panel ever hides one
        _draw_tag(canvas, layout, text, color)
    return canvas


def draw_text_overlay(
    image: np.ndarray,
    lines: Sequence[str],
    corner: str = "top-left",
    *,
    in_place: bool = False,
) -> np.ndarray:
    """White text lines on a darkened panel in one corner, e.g. "12.3 FPS | 18 ms".

    Returns an annotated copy, or draws into `image` itself when `in_place` (for video frames
    that draw_faces already copied).
    """
    if corner not in CORNERS:
        raise ValueError(f"corner must be one of {', '.join(CORNERS)}, got {corner!r}")
    if in_place:
        _check_rgb(image, "draw_text_overlay")
        canvas = image
    else:
        canvas = _rgb_copy(image, "draw_text_overlay")
    texts = [_ascii(line) for line in lines if line]
    if not texts:
        return canvas
    height, width = canvas.shape[:2]
    scale = max(0.4, max(height, width) / 1400)
    thickness = max(1, round(scale * 1.4))
    pad = max(3, round(scale * 8))
    sizes = [cv2.getTextSize(t, FONT, scale, thickness) for t in texts]
    line_h = max(h + base for (_, h), base in sizes) + pad // 2
    panel_w = min(width, max(w for (w, _), _ in sizes) + 2 * pad)
    panel_h = min(height, line_h * len(texts) + 2 * pad - pad // 2)
    margin = max(0, min(pad, width - panel_w, height - panel_h))
    x0 = margin if corner.endswith("left") else width - panel_w - margin
    y0 = margin if corner.startswith("top") else height - panel_h - margin
    roi = canvas[y0 : y0 + panel_h, x0 : x0 + panel_w]
    roi >>= 1  # halve brightness: readable on any background, cheaper than alpha blending
    for i, (text, ((_, text_h), _)) in enumerate(zip(texts, sizes)):
        origin = (x0 + pad, y0 + pad + i * line_h + text_h)
        cv2.putText(canvas, text, origin, FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return canvas


# --- styling and layout (public so tests and other views can reuse them) ------------------


def emotion_color(emotion: str) -> Color:
    """The emotion's RGB colour (case-insensitive), or white for unknown names."""
    return EMOTION_COLORS_RGB.get(str(emotion).strip().lower(), FALLBACK_COLOR)


@lru_cache(maxsize=64)
def text_color_for(background: Color) -> Color:
    """Black or white, whichever contrasts more with `background` (WCAG relative luminance)."""

    def linear(channel: int) -> float:
        c = channel / 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in background)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    contrast_black = (luminance + 0.05) / 0.05
    contrast_white = 1.05 / (luminance + 0.05)
    return (0, 0, 0) if contrast_black >= contrast_white else (255, 255, 255)


def format_label(face: FaceLike) -> str:
    """"#3 happy 87%" (the id is left out when a face has none)."""
    confidence = face.confidence
    if confidence is None or not math.isfinite(confidence):
        percent = "?%"
    else:
        percent = f"{round(min(max(confidence, 0.0), 1.0) * 100)}%"
    prefix = "" if face.face_id is None else f"#{face.face_id} "
    return _ascii(f"{prefix}{str(face.emotion).strip().lower()} {percent}")


def face_style(image_shape: tuple[int, ...], box: tuple[int, int, int, int]) -> FaceStyle:
    """Line and text sizes from the image size (legible when the image is shown shrunk to
    screen width) and the box size (labels of small faces stay near the face's size)."""
    longest = max(image_shape[0], image_shape[1])
    box_side = max(1, min(box[2], box[3]))
    # Hershey at scale 1 is ~22 px tall: long/1400 keeps ~15 px on a ~1000 px wide display.
    preferred = longest / 1400
    minimum = max(0.35, longest / 2600)
    font_scale = max(minimum, min(preferred, box_side / 110))
    line_preferred = longest / 320
    line_minimum = max(1.0, longest / 1500)
    thickness = round(max(line_minimum, min(line_preferred, box_side / 20)))
    thickness = max(1, min(thickness, box_side // 4))  # never fill a tiny box with frame
    return _style_for_scale(font_scale, thickness)


def label_layout(image_shape: tuple[int, ...], box: tuple[int, int, int, int], text: str) -> LabelLayout:
    """Where the tag for `box` goes: above the box, below it when there is no room above,
    inside its top when neither fits; shifted sideways and shrunk to stay inside the image."""
    height, width = image_shape[0], image_shape[1]
    style = face_style(image_shape, box)
    tag_w, tag_h, text_h, _ = _tag_size(text, style)
    if tag_w > width or tag_h > height:  # tiny image: shrink the text to fit
        shrink = min(width / tag_w, height / tag_h)
        style = _style_for_scale(max(MIN_FONT_SCALE, style.font_scale * shrink), style.thickness)
        tag_w, tag_h, text_h, _ = _tag_size(text, style)
    tag_w, tag_h = min(tag_w, width), min(tag_h, height)

    x, y, _w, h = box
    if y - tag_h >= 0:
        y0 = y - tag_h  # above, resting on the frame
    elif y + h + tag_h <= height:
        y0 = y + h  # flipped below the box
    else:
        y0 = min(max(0, y), height - tag_h)  # box fills the height: inside its top
    x0 = min(max(0, x), width - tag_w)
    rect = (x0, y0, x0 + tag_w, y0 + tag_h)
    origin = (x0 + style.padding, y0 + style.padding + text_h)
    return LabelLayout(style, rect, origin)


def face_probabilities(face: object) -> np.ndarray | None:
    """The face's probabilities in EMOTIONS order, or None when it carries none."""
    raw = getattr(face, "probabilities", None)
    if raw is None:
        return None
    if isinstance(raw, Mapping):
        values = [float(raw.get(name, 0.0)) for name in EMOTIONS]
    else:
        values = [float(v) for v in raw]
        if len(values) != len(EMOTIONS):
            return None
    array = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    return np.clip(array, 0.0, 1.0)


def probability_panel_rect(
    image_shape: tuple[int, ...], box: tuple[int, int, int, int], style: FaceStyle
) -> tuple[Rect, float]:
    """Where the bar chart goes (right of the box, else left, else overlapping it; always inside
    the image) and the font scale for its row names."""
    height, width = image_shape[0], image_shape[1]
    scale = max(MIN_FONT_SCALE, style.font_scale * 0.7)
    panel_w, panel_h = _panel_size(scale)
    if panel_w > width or panel_h > height:
        scale = max(MIN_FONT_SCALE, scale * min(width / panel_w, height / panel_h))
        panel_w, panel_h = _panel_size(scale)
    panel_w, panel_h = min(panel_w, width), min(panel_h, height)
    x, y, w, _ = box
    gap = max(2, style.thickness)
    if x + w + gap + panel_w <= width:
        x0 = x + w + gap
    elif x - gap - panel_w >= 0:
        x0 = x - gap - panel_w
    else:
        x0 = width - panel_w
    y0 = min(max(0, y), height - panel_h)
    return (x0, y0, x0 + panel_w, y0 + panel_h), scale


# --- internals ------------------------------------------------------------------------------


def _style_for_scale(font_scale: float, thickness: int) -> FaceStyle:
    return FaceStyle(
        thickness=thickness,
        font_scale=font_scale,
        text_thickness=max(1, round(font_scale * 1.4)),
        padding=max(2, round(font_scale * 6)),
    )


def _tag_size(text: str, style: FaceStyle) -> tuple[int, int, int, int]:
    (text_w, text_h), baseline = cv2.getTextSize(text, FONT, style.font_scale, style.text_thickness)
    return text_w + 2 * style.padding, text_h + baseline + 2 * style.padding, text_h, baseline


def _draw_frame(canvas: np.ndarray, box: tuple[int, int, int, int], t: int, color: Color) -> None:
    """A frame `t` pixels wide lying just inside the box (exact, no anti-aliasing)."""
    x, y, w, h = box
    t = min(t, w, h)
    canvas[y : y + t, x : x + w] = color
    canvas[y + h - t : y + h, x : x + w] = color
    canvas[y : y + h, x : x + t] = color
    canvas[y : y + h, x + w - t : x + w] = color


def _draw_tag(canvas: np.ndarray, layout: LabelLayout, text: str, color: Color) -> None:
    x0, y0, x1, y1 = layout.rect
    canvas[y0:y1, x0:x1] = color
    style = layout.style
    cv2.putText(canvas, text, layout.origin, FONT, style.font_scale, text_color_for(color),
                style.text_thickness, cv2.LINE_AA)


_SHORT_NAMES = tuple(name[:3] for name in EMOTIONS)


def _panel_size(scale: float) -> tuple[int, int]:
    pad, row_h, name_w, bar_w = _panel_metrics(scale)
    return pad * 3 + name_w + bar_w, pad * 2 + row_h * len(EMOTIONS)


@lru_cache(maxsize=256)  # called per face per frame with a handful of distinct scales
def _panel_metrics(scale: float) -> tuple[int, int, int, int]:
    sizes = [cv2.getTextSize(name, FONT, scale, 1) for name in _SHORT_NAMES]
    name_w = max(w for (w, _), _ in sizes)
    name_h = max(h for (_, h), _ in sizes)
    baseline = max(b for _, b in sizes)
    pad = max(2, round(scale * 5))
    row_h = name_h + baseline + max(1, pad // 2)
    bar_w = max(16, round(scale * 90))
    return pad, row_h, name_w, bar_w


def _draw_probability_panel(
    canvas: np.ndarray, box: tuple[int, int, int, int], probabilities: np.ndarray, style: FaceStyle
) -> None:
    (x0, y0, x1, y1), scale = probability_panel_rect(canvas.shape, box, style)
    canvas[y0:y1, x0:x1] = PANEL_BACKGROUND
    pad, row_h, name_w, bar_w = _panel_metrics(scale)
    bar_x0 = x0 + 2 * pad + name_w
    bar_x1 = min(x1 - pad, bar_x0 + bar_w)
    for i, (name, p) in enumerate(zip(_SHORT_NAMES, probabilities)):
        row_top = y0 + pad + i * row_h
        row_bottom = min(y1, row_top + row_h - max(1, pad // 2))
        cv2.putText(canvas, name, (x0 + pad, row_bottom - 1), FONT, scale, (235, 235, 235), 1, cv2.LINE_AA)
        canvas[row_top:row_bottom, bar_x0:bar_x1] = BAR_TRACK
        filled = bar_x0 + round((bar_x1 - bar_x0) * float(p))
        canvas[row_top:row_bottom, bar_x0:filled] = emotion_color(EMOTIONS[i])


def _visible_box(box: Sequence[float], width: int, height: int) -> tuple[int, int, int, int] | None:
    """The part of `box` inside the image as ints, or None if nothing of it is visible."""
    x, y, w, h = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        return None
    x0, y0 = max(0, round(x)), max(0, round(y))
    x1, y1 = min(width, round(x + w)), min(height, round(y + h))
    if x1 <= x0 or y1 <= y0:
        return None
    return (x0, y0, x1 - x0, y1 - y0)


def _check_rgb(image: np.ndarray, caller: str) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{caller} expects an RGB uint8 (H, W, 3) image, got {_describe(image)}")


def _rgb_copy(image: np.ndarray, caller: str) -> np.ndarray:
    if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    _check_rgb(image, caller)
    return np.array(image, order="C", copy=True)


def _describe(image: object) -> str:
    if isinstance(image, np.ndarray):
        return f"{image.dtype} array of shape {image.shape}"
    return type(image).__name__


def _ascii(text: str) -> str:
    """Hershey fonts only have ASCII glyphs; anything else would draw as '?' boxes."""
    return str(text).encode("ascii", "replace").decode("ascii")
