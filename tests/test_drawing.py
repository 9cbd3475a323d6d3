"""Result drawing: what changes, where labels go, colours, sizes, and the video text overlay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from fer_core.drawing import (
    FALLBACK_COLOR,
    HERSHEY_PX,
    FaceLike,
    draw_faces,
    draw_text_overlay,
    face_style,
    format_label,
    label_layout,
    plan_annotations,
    probability_panel_rect,
    text_color_for,
)
from fer_core.labels import EMOTION_COLORS_RGB, EMOTIONS
from fer_core.pipeline import reading_order


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]
    face_id: int | None = 1
    emotion: str = "happy"
    confidence: float = 0.87
    probabilities: Any = None


def noise(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Mid-grey noise: any drawing in any colour changes the pixels it touches."""
    rng = np.random.default_rng(seed)
    return rng.integers(60, 196, size=(height, width, 3), dtype=np.uint8)


def changed_mask(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.any(before != after, axis=2)


def rect_mask(shape: tuple[int, ...], rect: tuple[int, int, int, int]) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    x0, y0, x1, y1 = rect
    mask[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = True
    return mask


def box_mask(shape: tuple[int, ...], box: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = box
    return rect_mask(shape, (x, y, x + w, y + h))


def visible(box: tuple[int, int, int, int], shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    x, y, w, h = box
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(shape[1], x + w), min(shape[0], y + h)
    return (x0, y0, x1 - x0, y1 - y0)


def test_protocol_is_satisfied_by_a_plain_dataclass() -> None:
    face: FaceLike = Face((1, 2, 3, 4))  # type-checks; runtime use below
    assert format_label(face) == "#1 happy 87%"
    assert format_label(Face((0, 0, 1, 1), face_id=None, emotion="Sad", confidence=1.0)) == "sad 100%"
    assert format_label(Face((0, 0, 1, 1), confidence=float("nan"))) == "#1 happy ?%"


def test_input_is_never_modified() -> None:
    image = noise(120, 160)
    before = image.copy()
    out = draw_faces(image, [Face((40, 40, 50, 50))], show_probabilities=True)
    assert out is not image
    np.testing.assert_array_equal(image, before)
    assert not np.array_equal(out, before)


def test_no_faces_gives_an_equal_copy() -> None:
    image = noise(48, 64)
    out = draw_faces(image, [])
    assert out is not image
    np.testing.assert_array_equal(out, image)


def test_changes_lie_exactly_on_the_frame_and_the_tag() -> None:
    image = noise(480, 640)
    box = (250, 200, 120, 140)
    face = Face(box, emotion="sad", confidence=0.5)
    out = draw_faces(image, [face])
    layout = label_layout(image.shape, box, format_label(face))
    t = layout.style.thickness
    x, y, w, h = box

    changed = changed_mask(image, out)
    allowed = box_mask(image.shape, box) | rect_mask(image.shape, layout.rect)
    assert not (changed & ~allowed).any(), "pixels changed outside the box and its tag"
    frame = box_mask(image.shape, box) & ~box_mask(image.shape, (x + t, y + t, w - 2 * t, h - 2 * t))
    assert changed[frame].mean() > 0.99, "the frame should be fully drawn"
    inside = box_mask(image.shape, (x + t, y + t, w - 2 * t, h - 2 * t))
    assert not changed[inside].any(), "the face itself must stay visible"
    # the tag sits directly above the box
    assert layout.rect[3] == y and layout.rect[0] == x


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_colours_match_the_emotion(emotion: str) -> None:
    image = noise(240, 320)
    box = (100, 80, 80, 90)
    face = Face(box, emotion=emotion)
    out = draw_faces(image, [face])
    colour = EMOTION_COLORS_RGB[emotion]
    x, y, w, h = box
    for pixel in (out[y + h - 1, x + w // 2], out[y + h // 2, x], out[y + h // 2, x + w - 1]):
        assert tuple(pixel) == colour
    x0, y0, x1, y1 = label_layout(image.shape, box, format_label(face)).rect
    assert tag_colour(out, (x0, y0, x1, y1)) == colour


def test_label_text_contrasts_with_the_tag() -> None:
    assert text_color_for(EMOTION_COLORS_RGB["happy"]) == (0, 0, 0)  # yellow -> black text
    assert text_color_for(EMOTION_COLORS_RGB["sad"]) == (255, 255, 255)  # blue -> white text
    image = noise(240, 320)
    for emotion, want_dark_text in (("happy", True), ("sad", False)):
        face = Face((100, 80, 80, 90), emotion=emotion)
        out = draw_faces(image, [face])
        x0, y0, x1, y1 = label_layout(image.shape, face.box, format_label(face)).rect
        tag = out[y0:y1, x0:x1].astype(int).sum(axis=2)
        if want_dark_text:
            assert (tag < 150).sum() > 20
        else:
            assert (tag > 700).sum() > 20


def test_unknown_emotion_gets_fallback_colour() -> None:
    image = noise(100, 100)
    out = draw_faces(image, [Face((20, 30, 40, 40), emotion="contempt")])
    assert tuple(out[69, 40]) == FALLBACK_COLOR


def tag_colour(image: np.ndarray, rect: tuple[int, int, int, int]) -> tuple[int, ...]:
    """The colour most of a tag is filled with (its outline and text are the rest)."""
    x0, y0, x1, y1 = rect
    colours, counts = np.unique(image[y0:y1, x0:x1].reshape(-1, 3), axis=0, return_counts=True)
    return tuple(int(c) for c in colours[np.argmax(counts)])


SIZES = [(120, 160), (480, 640), (50, 30)]
EDGE_BOXES = {
    "top-left corner": lambda h, w: (0, 0, w // 4, h // 4),
    "top edge": lambda h, w: (w // 3, 0, w // 4, h // 4),
    "top-right corner": lambda h, w: (w - w // 4, 0, w // 4, h // 4),
    "right edge": lambda h, w: (w - w // 5, h // 3, w // 5, h // 4),
    "bottom-right corner": lambda h, w: (w - w // 4, h - h // 4, w // 4, h // 4),
    "bottom edge": lambda h, w: (w // 3, h - h // 4, w // 4, h // 4),
    "left edge": lambda h, w: (0, h // 3, w // 5, h // 4),
    "whole image": lambda h, w: (0, 0, w, h),
    "sticking out left and top": lambda h, w: (-w // 8, -h // 8, w // 3, h // 3),
    "sticking out right and bottom": lambda h, w: (w - w // 8, h - h // 8, w // 3, h // 3),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[1]}x{s[0]}")
@pytest.mark.parametrize("where", list(EDGE_BOXES))
def test_label_stays_inside_the_image(size: tuple[int, int], where: str) -> None:
    height, width = size
    image = noise(height, width)
    box = EDGE_BOXES[where](height, width)
    face = Face(box, face_id=12, emotion="surprise", confidence=1.0, probabilities=[1 / 7] * 7)
    out = draw_faces(image, [face], show_probabilities=True)
    assert out.shape == image.shape

    shown = visible(box, image.shape)
    layout = label_layout(image.shape, shown, format_label(face))
    x0, y0, x1, y1 = layout.rect
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    if shown[1] - (y1 - y0) < 0 and shown[1] + shown[3] + (y1 - y0) <= height:
        assert y0 == shown[1] + shown[3], "at the top edge the tag flips below the box"
    assert tag_colour(out, layout.rect) == EMOTION_COLORS_RGB["surprise"]  # the tag is drawn where laid out

    (px0, py0, px1, py1), _ = probability_panel_rect(image.shape, shown, layout.style)
    assert 0 <= px0 < px1 <= width and 0 <= py0 < py1 <= height


def test_tag_flips_below_a_box_at_the_top() -> None:
    image = noise(480, 640)
    box = (200, 0, 100, 120)
    face = Face(box)
    out = draw_faces(image, [face])
    x0, y0, x1, y1 = label_layout(image.shape, box, format_label(face)).rect
    assert y0 == 120
    assert tag_colour(out, (x0, y0, x1, y1)) == EMOTION_COLORS_RGB["happy"]
    allowed = box_mask(image.shape, box) | rect_mask(image.shape, (x0, y0, x1, y1))
    assert not (changed_mask(image, out) & ~allowed).any()


def test_tag_is_clamped_at_the_right_edge() -> None:
    image = noise(480, 640)
    box = (600, 200, 40, 60)
    layout = label_layout(image.shape, box, "#1 surprise 100%")
    assert layout.rect[2] == 640 and layout.rect[0] < 600


def test_sizes_scale_with_image_and_box() -> None:
    thumb = face_style((120, 160), (50, 30, 40, 45))
    video = face_style((480, 640), (250, 150, 150, 160))
    photo = face_style((4000, 6000), (2300, 300, 1200, 1400))
    small_face_in_photo = face_style((4000, 6000), (100, 3000, 150, 150))
    assert thumb.font_scale <= video.font_scale < photo.font_scale
    assert thumb.thickness <= video.thickness < photo.thickness
    assert small_face_in_photo.font_scale < photo.font_scale  # small faces get smaller labels...
    assert small_face_in_photo.font_scale >= 6000 / 2600  # ...but still legible when shown shrunk
    # a label on the big photo is still >= ~12 px tall when the photo is shown 1200 px wide
    layout = label_layout((4000, 6000), (2300, 300, 1200, 1400), "#1 happy 87%")
    assert (layout.rect[3] - layout.rect[1]) * 1200 / 6000 >= 12


def test_thumbnail_label_fits_and_is_readable() -> None:
    layout = label_layout((120, 160), (60, 40, 40, 40), "#12 surprise 100%")
    x0, y0, x1, y1 = layout.rect
    assert x1 - x0 <= 160 and y1 - y0 >= 8


def test_huge_photo() -> None:
    image = np.full((4000, 6000, 3), 128, np.uint8)
    face = Face((2300, 300, 1200, 1400), emotion="fear", probabilities={"fear": 0.6, "sad": 0.4})
    out = draw_faces(image, [face], show_probabilities=True)
    assert out.shape == image.shape and (image == 128).all()
    style = face_style(image.shape, face.box)
    assert (out[300 + 1400 - style.thickness :, 2300 : 2300 + 1200] != 128).any()
    assert tuple(out[1699, 2900]) == EMOTION_COLORS_RGB["fear"]


def test_probability_bars_are_drawn_beside_the_box() -> None:
    image = noise(480, 640)
    box = (200, 150, 120, 140)
    plain = draw_faces(image, [Face(box, probabilities=None)], show_probabilities=True)
    np.testing.assert_array_equal(plain, draw_faces(image, [Face(box)]))  # no probabilities: no panel
    probs = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    face = Face(box, probabilities=probs)
    without = draw_faces(image, [face])
    with_bars = draw_faces(image, [face], show_probabilities=True)
    style = label_layout(image.shape, box, format_label(face)).style
    rect, _ = probability_panel_rect(image.shape, box, style)
    assert rect[0] >= box[0] + box[2]  # room on the right, so it goes right of the box
    diff = changed_mask(without, with_bars)
    assert diff.any() and not (diff & ~rect_mask(image.shape, rect)).any()
    panel = with_bars[rect[1] : rect[3], rect[0] : rect[2]]
    happy = np.all(panel == EMOTION_COLORS_RGB["happy"], axis=2)
    angry = np.all(panel == EMOTION_COLORS_RGB["angry"], axis=2)
    assert happy.sum() > 50 and angry.sum() == 0  # only the certain emotion has a filled bar


def test_grey_input_and_bad_input() -> None:
    grey = noise(60, 80)[:, :, 0]
    out = draw_faces(grey, [Face((10, 10, 30, 30))])
    assert out.shape == (60, 80, 3)
    with pytest.raises(ValueError, match="RGB uint8"):
        draw_faces(noise(60, 80).astype(np.float32), [])
    with pytest.raises(ValueError):
        draw_faces(np.zeros((60, 80, 4), np.uint8), [])


def test_faces_off_the_image_are_skipped() -> None:
    image = noise(60, 80)
    out = draw_faces(image, [Face((200, 200, 10, 10)), Face((-50, 10, 20, 20)), Face((0, 0, 0, 0))])
    np.testing.assert_array_equal(out, image)


# --- text overlay ---------------------------------------------------------------------------


@pytest.mark.parametrize("corner", ["top-left", "top-right", "bottom-left", "bottom-right"])
def test_text_overlay_stays_in_its_corner(corner: str) -> None:
    image = noise(480, 640)
    out = draw_text_overlay(image, ["12.3 FPS | 18 ms", "2 faces"], corner)
    changed = changed_mask(image, out)
    assert changed.sum() > 500
    rows, cols = np.nonzero(changed)
    top, left = corner.startswith("top"), corner.endswith("left")
    assert (rows.max() < 240) if top else (rows.min() >= 240)
    assert (cols.max() < 320) if left else (cols.min() >= 320)
    assert (image == noise(480, 640)).all()


def test_text_overlay_in_place_and_errors() -> None:
    image = noise(120, 160)
    before = image.copy()
    out = draw_text_overlay(image, ["5.0 FPS"], in_place=True)
    assert out is image and not np.array_equal(image, before)
    same = draw_text_overlay(before, [])
    np.testing.assert_array_equal(same, before)
    with pytest.raises(ValueError, match="corner"):
        draw_text_overlay(before, ["x"], corner="middle")


def test_text_overlay_on_tiny_image() -> None:
    image = noise(20, 30)
    out = draw_text_overlay(image, ["a rather long line of text", "another"], "bottom-right")
    assert out.shape == image.shape


# --- crowded photos and displayed sizes (issue 25) ------------------------------------------


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def crowd(rows: int = 4, columns: int = 6, side: int = 90, gap: int = 12) -> list[Face]:
    """A tight group photo: rows of faces with little room between them."""
    return [Face((20 + c * (side + gap), 30 + r * (side + gap), side, side), face_id=r * columns + c + 1,
                 emotion=EMOTIONS[(r + c) % 7], confidence=0.5, probabilities=[1 / 7] * 7)
            for r in range(rows) for c in range(columns)]


def test_tags_in_a_crowd_never_hide_each_other_and_stay_inside() -> None:
    shape = (460, 660, 3)
    faces = crowd()
    plans = plan_annotations(shape, faces, show_probabilities=True, display_width=400)
    assert [p.text.split()[0] for p in plans] == [f"#{f.face_id}" for f in faces]  # every face numbered
    tags = [p.tag.rect for p in plans]
    for i, a in enumerate(tags):
        assert 0 <= a[0] < a[2] <= shape[1] and 0 <= a[1] < a[3] <= shape[0]
        assert all(overlap(a, b) == 0 for b in tags[i + 1:]), "two tags overlap"
    assert any(p.text == f"#{p.text.split()[0][1:]}" for p in plans)  # no room: the number alone
    boxes = [(x, y, x + w, y + h) for x, y, w, h in (f.box for f in faces)]
    for i, plan in enumerate(plans):
        if plan.panel is None:
            continue
        rect = plan.panel.rect
        area = (rect[2] - rect[0]) * (rect[3] - rect[1])
        assert all(overlap(rect, t) == 0 for t in tags)
        assert all(overlap(rect, b) <= 0.15 * area for j, b in enumerate(boxes) if j != i)


def test_a_lone_face_keeps_its_full_tag_above_the_box() -> None:
    (plan,) = plan_annotations((480, 640, 3), [Face((200, 150, 120, 140))])
    assert plan.text == "#1 happy 87%" and plan.tag.rect[3] == 150


def test_faces_are_numbered_in_reading_order() -> None:
    # two uneven rows: the second face of the top row sits a little lower than the first
    boxes = [(300, 210, 80, 80), (20, 10, 80, 80), (160, 40, 80, 80), (40, 200, 80, 80)]
    assert reading_order(boxes) == [1, 2, 3, 0]
    assert reading_order([]) == []


def test_video_text_is_legible_at_the_size_the_page_shows_it() -> None:
    # a 1280x720 frame shown 560 px wide (the video page): tag text at least 13 screen pixels
    style = face_style((720, 1280, 3), (600, 300, 90, 90), display_width=560)
    assert HERSHEY_PX * style.font_scale * 560 / 1280 >= 13
    assert face_style((720, 1280, 3), (600, 300, 90, 90)).font_scale < style.font_scale
