"""Draw recognition results onto images: a coloured box and label tag per face, optional
probability bars, and a small text readout for video.

Everything is drawn with OpenCV onto one copy of the frame (or the frame itself, for decoded
video), so a 640x480 frame with a few faces costs well under a millisecond per face. Sizes scale
with the width the image is shown at (so labels stay legible when a 6000x4000 photo or a 720p
video is shown shrunk) and with the face box; tags are placed so that none hides another.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
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
HERSHEY_PX = 22  # height of FONT's text (ascender to descender) at scale 1
MIN_DISPLAY_TEXT_PX = 13  # the smallest tag text on screen that stays easy to read
DEFAULT_DISPLAY_WIDTH = 1000  # what an image is assumed shown at when the caller does not say
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


@dataclass(frozen=True)
class Panel:
    rect: Rect
    font_scale: float


@dataclass(frozen=True)
class FacePlan:
    """Where one face's annotations go (`plan_annotations`)."""

    box: tuple[int, int, int, int]  # the visible part of the face box
    color: Color
    text: str  # the full tag, or the face's number alone where the full tag found no room
    tag: LabelLayout
    panel: Panel | None  # the probability bars, None when not drawn
    probabilities: np.ndarray | None


# --- public drawing functions ---------------------------------------------------------------


def draw_faces(
    image_rgb: np.ndarray,
    faces: Sequence[FaceLike],
    *,
    show_probabilities: bool = False,
    in_place: bool = False,
    display_width: int | None = None,
) -> np.ndarray:
    """An annotated copy of `image_rgb` (RGB uint8 (H, W, 3), or grey (H, W) which yields RGB),
    or `image_rgb` itself drawn on when `in_place` (a decoded video frame the caller owns).

    Each face gets a frame in its emotion's colour and a tag "#<id> <emotion> <confidence>%";
    with `show_probabilities`, faces that carry probabilities also get a small bar chart.
    `display_width` is how wide the image will be shown (pixels on screen); text is sized to
    stay legible there. Tags never overlap each other: where a full tag finds no free place
    (a crowded group photo) the face gets its number only, and a bar chart that would cover
    another face or tag is left out (the app's cards and tables hold every face's figures).
    """
    if in_place and image_rgb.ndim == 3:
        _check_rgb(image_rgb, "draw_faces")
        canvas = image_rgb
    else:
        canvas = _rgb_copy(image_rgb, "draw_faces")
    plans = plan_annotations(canvas.shape, faces, show_probabilities=show_probabilities,
                             display_width=display_width)
    for plan in plans:
        _draw_frame(canvas, plan.box, plan.tag.style.thickness, plan.color)
        if plan.panel is not None and plan.probabilities is not None:
            _draw_probability_panel(canvas, plan.panel, plan.probabilities)
    for plan in plans:  # tags last, so no frame or panel ever hides one
        _draw_tag(canvas, plan.tag, plan.text, plan.color)
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


def face_thumbnail(image_rgb: np.ndarray, box: tuple[int, int, int, int], side: int = 96,
                   margin: float = 0.2) -> np.ndarray:
    """A square `side` x `side` RGB picture of one face (its box plus `margin` on each side,
    clipped to the image), for a result card."""
    height, width = image_rgb.shape[:2]
    x, y, w, h = box
    half = max(w, h) * (0.5 + margin)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
    x1, y1 = min(width, int(cx + half)), min(height, int(cy + half))
    if x1 <= x0 or y1 <= y0:
        return np.zeros((side, side, 3), np.uint8)
    crop = image_rgb[y0:y1, x0:x1]
    if crop.ndim == 2:
        crop = cv2.cvtColor(crop, cv2.COLOR_GRAY2RGB)
    return cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)


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


def face_style(image_shape: tuple[int, ...], box: tuple[int, int, int, int],
               display_width: int | None = None) -> FaceStyle:
    """Line and text sizes from the image size, the box size (labels of small faces stay near
    the face's size) and the width the image is shown at: text is never smaller than
    MIN_DISPLAY_TEXT_PX on screen (default: the image shown at most DEFAULT_DISPLAY_WIDTH wide)."""
    longest = max(image_shape[0], image_shape[1])
    width = image_shape[1]
    shown = display_width if display_width and display_width > 0 else min(width, DEFAULT_DISPLAY_WIDTH)
    box_side = max(1, min(box[2], box[3]))
    # Hershey at scale 1 is ~HERSHEY_PX tall: long/1400 keeps ~15 px on a ~1000 px wide display.
    preferred = longest / 1400
    minimum = max(0.35, MIN_DISPLAY_TEXT_PX / HERSHEY_PX * width / shown)
    font_scale = max(minimum, min(preferred, box_side / 110))
    line_preferred = longest / 320
    line_minimum = max(1.0, 2.0 * width / shown)  # a frame at least ~2 screen pixels wide
    thickness = round(max(line_minimum, min(line_preferred, box_side / 20)))
    thickness = max(1, min(thickness, box_side // 4))  # never fill a tiny box with frame
    return _style_for_scale(font_scale, thickness)


def label_layout(image_shape: tuple[int, ...], box: tuple[int, int, int, int], text: str,
                 display_width: int | None = None) -> LabelLayout:
    """Where the tag for `box` goes when nothing else is in the way: above the box, below it
    when there is no room above, inside its top when neither fits; shifted sideways and shrunk
    to stay inside the image."""
    return _tag_candidates(image_shape, box, text, display_width)[0]


def _tag_candidates(image_shape: tuple[int, ...], box: tuple[int, int, int, int], text: str,
                    display_width: int | None) -> list[LabelLayout]:
    """Every place the tag may go, in order of preference (label_layout's rule first), each
    inside the image."""
    height, width = image_shape[0], image_shape[1]
    style = face_style(image_shape, box, display_width)
    tag_w, tag_h, text_h, _ = _tag_size(text, style)
    if tag_w > width or tag_h > height:  # tiny image: shrink the text to fit
        shrink = min(width / tag_w, height / tag_h)
        style = _style_for_scale(max(MIN_FONT_SCALE, style.font_scale * shrink), style.thickness)
        tag_w, tag_h, text_h, _ = _tag_size(text, style)
    tag_w, tag_h = min(tag_w, width), min(tag_h, height)

    x, y, w, h = box
    if y - tag_h >= 0:
        y_first = y - tag_h  # above, resting on the frame
    elif y + h + tag_h <= height:
        y_first = y + h  # flipped below the box
    else:
        y_first = y  # box fills the height: inside its top
    rows = [y_first, y - tag_h, y + h, y, y + h - tag_h]
    columns = [x, x + (w - tag_w) // 2, x + w - tag_w]
    out: list[LabelLayout] = []
    seen: set[tuple[int, int]] = set()
    for y0 in rows:
        for x0 in columns:
            x0c, y0c = min(max(0, x0), width - tag_w), min(max(0, y0), height - tag_h)
            if (x0c, y0c) in seen:
                continue
            seen.add((x0c, y0c))
            out.append(LabelLayout(style, (x0c, y0c, x0c + tag_w, y0c + tag_h),
                                   (x0c + style.padding, y0c + style.padding + text_h)))
    return out


def plan_annotations(image_shape: tuple[int, ...], faces: Sequence[FaceLike], *,
                     show_probabilities: bool = False, display_width: int | None = None) -> list[FacePlan]:
    """Where every face's frame, tag and bars go, faces taken in the given order (the photo's
    reading order): each tag takes the first place that overlaps no earlier tag and covers
    little of another face; failing that, the face's number alone does; failing that, the
    place that overlaps least. Bars go where they cover no tag and little of another face,
    or are left out."""
    height, width = image_shape[0], image_shape[1]
    visible = [(face, _visible_box(face.box, width, height)) for face in faces]
    shown = [(face, box) for face, box in visible if box is not None]
    boxes = [_rect(box) for _, box in shown]
    taken: list[Rect] = []
    plans: list[FacePlan] = []
    for i, (face, box) in enumerate(shown):
        others = boxes[:i] + boxes[i + 1:]
        full = format_label(face)
        texts = [full] if face.face_id is None else [full, _ascii(f"#{face.face_id}")]
        best: tuple[float, str, LabelLayout] | None = None
        for text in texts:
            for layout in _tag_candidates(image_shape, box, text, display_width):
                cost = _cost(layout.rect, taken, others)
                if best is None or cost < best[0]:
                    best = (cost, text, layout)
            if best is not None and best[0] == 0.0:
                break
        assert best is not None  # a visible box always has candidates
        _, text, layout = best
        taken.append(layout.rect)
        plans.append(FacePlan(box, emotion_color(face.emotion), text, layout, None, face_probabilities(face)))
    if show_probabilities:
        for i, plan in enumerate(plans):
            if plan.probabilities is None:
                continue
            others = boxes[:i] + boxes[i + 1:]
            # its own tag is drawn over it, so only the other faces' tags and bars are in the way
            in_the_way = [rect for rect in taken if rect != plan.tag.rect]
            for rect, scale in _panel_candidates(image_shape, plan.box, plan.tag.style):
                if _cost(rect, in_the_way, others) == 0.0:
                    taken.append(rect)
                    plans[i] = replace(plan, panel=Panel(rect, scale))
                    break
    return plans


FACE_OVERLAP_ALLOWED = 0.15  # of a tag's area: a tag may touch the hair or chin of a neighbour


def _cost(rect: Rect, taken: Sequence[Rect], faces: Sequence[Rect]) -> float:
    """0 for a free place; else how much it hides (tags and bars weigh far more than faces)."""
    area = max(1, (rect[2] - rect[0]) * (rect[3] - rect[1]))
    on_tags = sum(_overlap(rect, other) for other in taken)
    on_faces = sum(_overlap(rect, other) for other in faces)
    if on_tags == 0 and on_faces <= FACE_OVERLAP_ALLOWED * area:
        return 0.0
    return 1000.0 * on_tags / area + on_faces / area


def _overlap(a: Rect, b: Rect) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def _rect(box: tuple[int, int, int, int]) -> Rect:
    x, y, w, h = box
    return (x, y, x + w, y + h)


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
    """Where the bar chart goes when nothing else is in the way (right of the box, else left,
    else overlapping it; always inside the image) and the font scale for its row names."""
    return _panel_candidates(image_shape, box, style)[0]


def _panel_candidates(image_shape: tuple[int, ...], box: tuple[int, int, int, int],
                      style: FaceStyle) -> list[tuple[Rect, float]]:
    height, width = image_shape[0], image_shape[1]
    scale = max(MIN_FONT_SCALE, style.font_scale * 0.7)
    panel_w, panel_h = _panel_size(scale)
    if panel_w > width or panel_h > height:
        scale = max(MIN_FONT_SCALE, scale * min(width / panel_w, height / panel_h))
        panel_w, panel_h = _panel_size(scale)
    panel_w, panel_h = min(panel_w, width), min(panel_h, height)
    x, y, w, h = box
    gap = max(2, style.thickness)
    if x + w + gap + panel_w <= width:
        x_first = x + w + gap
    elif x - gap - panel_w >= 0:
        x_first = x - gap - panel_w
    else:
        x_first = width - panel_w
    y_first = min(max(0, y), height - panel_h)
    places = [(x_first, y_first), (x + w + gap, y), (x - gap - panel_w, y),
              (x + w + gap, y + h - panel_h), (x - gap - panel_w, y + h - panel_h), (x, y + h + gap)]
    out: list[tuple[Rect, float]] = []
    for x0, y0 in places:
        outside = x0 < 0 or y0 < 0 or x0 + panel_w > width or y0 + panel_h > height
        if outside and (x0, y0) != (x_first, y_first):
            continue  # the alternatives must fit as they are; only the first is clamped
        x0, y0 = min(max(0, x0), width - panel_w), min(max(0, y0), height - panel_h)
        rect = (x0, y0, x0 + panel_w, y0 + panel_h)
        if all(rect != r for r, _ in out):
            out.append((rect, scale))
    return out


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
    ink = text_color_for(color)
    canvas[y0:y1, x0:x1] = ink  # an outline in the text's colour sets the tag off any background
    edge = max(1, layout.style.text_thickness // 2)
    if x1 - x0 > 2 * edge and y1 - y0 > 2 * edge:
        canvas[y0 + edge:y1 - edge, x0 + edge:x1 - edge] = color
    style = layout.style
    cv2.putText(canvas, text, layout.origin, FONT, style.font_scale, ink, style.text_thickness, cv2.LINE_AA)


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


def _draw_probability_panel(canvas: np.ndarray, panel: Panel, probabilities: np.ndarray) -> None:
    (x0, y0, x1, y1), scale = panel.rect, panel.font_scale
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
