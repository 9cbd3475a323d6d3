"""Image loading: formats, modes, orientation, size limits and every way input can be bad."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_core.image_io import (
    ALLOWED_FORMATS_TEXT,
    ImageLoadError,
    downscale_for_detection,
    encode_png,
    load_image,
    scale_box,
)

ORIENTATION_TAG = 0x0112


# --- helpers --------------------------------------------------------------------------------


def colourful(height: int = 48, width: int = 64) -> np.ndarray:
    """A smooth RGB test pattern (JPEG-friendly) with distinct rows and columns."""
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack(
        [xx * 255 // (width - 1), yy * 255 // (height - 1), (xx + yy) * 127 // (width + height - 2) + 64],
        axis=2,
    ).astype(np.uint8)


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def assert_rgb(array: np.ndarray, shape: tuple[int, int]) -> None:
    assert array.dtype == np.uint8
    assert array.shape == (*shape, 3)
    assert array.flags.c_contiguous and array.flags.writeable


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height but carries almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# --- formats --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "params", "tolerance"),
    [
        ("PNG", {}, 0.0),
        ("BMP", {}, 0.0),
        ("TIFF", {}, 0.0),
        ("TIFF", {"compression": "tiff_lzw"}, 0.0),
        ("WEBP", {"lossless": True}, 0.0),
        ("WEBP", {"quality": 90}, 4.0),
        ("JPEG", {"quality": 95}, 3.0),
    ],
)
def test_formats_round_trip(fmt: str, params: dict, tolerance: float) -> None:
    original = colourful()
    loaded = load_image(encode(Image.fromarray(original), fmt, **params))
    assert_rgb(loaded, original.shape[:2])
    assert mean_abs_diff(loaded, original) <= tolerance


def test_all_source_kinds_load_the_same(tmp_path: Path) -> None:
    original = colourful()
    data = encode(Image.fromarray(original), "PNG")
    path = tmp_path / "pic.png"
    path.write_bytes(data)
    consumed = io.BytesIO(data)
    consumed.read()  # a stream someone already read to the end still loads
    with open(path, "rb") as handle:
        from_handle = load_image(handle)
    for source in (data, bytearray(data), memoryview(data), str(path), path, consumed):
        np.testing.assert_array_equal(load_image(source), original)
    np.testing.assert_array_equal(from_handle, original)


def test_greyscale_becomes_three_equal_channels() -> None:
    grey = colourful()[:, :, 0]
    loaded = load_image(encode(Image.fromarray(grey, "L"), "PNG"))
    assert_rgb(loaded, grey.shape)
    for channel in range(3):
        np.testing.assert_array_equal(loaded[:, :, channel], grey)


# --- EXIF orientation -----------------------------------------------------------------------


def marked_jpeg(orientation: int) -> tuple[bytes, np.ndarray]:
    """A 60 wide x 40 high blue JPEG with a red block in its top-left corner."""
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[:] = (0, 0, 255)
    pixels[:16, :16] = (255, 0, 0)
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    return encode(Image.fromarray(pixels), "JPEG", quality=95, exif=exif.tobytes()), pixels


def is_red(pixel: np.ndarray) -> bool:
    return pixel[0] > 200 and pixel[2] < 60


@pytest.mark.parametrize(
    ("orientation", "rot90_k", "red_corner"),
    [
        (1, 0, (0, 0)),
        (3, 2, (-1, -1)),  # upside down
        (6, -1, (0, -1)),  # camera turned right: display rotated 90 deg clockwise
        (8, 1, (-1, 0)),  # camera turned left: display rotated 90 deg counter-clockwise
    ],
)
def test_exif_orientation_is_applied(orientation: int, rot90_k: int, red_corner: tuple[int, int]) -> None:
    data, pixels = marked_jpeg(orientation)
    loaded = load_image(data)
    expected = np.rot90(pixels, k=rot90_k)
    assert loaded.shape == expected.shape
    assert mean_abs_diff(loaded, expected) < 4.0
    row, col = red_corner
    assert is_red(loaded[row, col])
    assert sum(is_red(loaded[r, c]) for r, c in [(0, 0), (0, -1), (-1, 0), (-1, -1)]) == 1


def test_broken_exif_orientation_is_ignored() -> None:
    data, pixels = marked_jpeg(99)  # not a valid orientation value
    loaded = load_image(data)
    assert loaded.shape == pixels.shape


# --- modes ----------------------------------------------------------------------------------


def test_rgba_composites_on_white() -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 0)  # fully transparent red
    rgba[0, 1] = (255, 0, 0, 255)  # opaque red
    rgba[0, 2] = (0, 0, 0, 128)  # half-transparent black
    loaded = load_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert_rgb(loaded, (4, 4))
    assert tuple(loaded[0, 0]) == (255, 255, 255)
    assert tuple(loaded[0, 1]) == (255, 0, 0)
    assert all(abs(int(v) - 127) <= 1 for v in loaded[0, 2])
    assert tuple(loaded[3, 3]) == (255, 255, 255)


def test_rgba_webp_composites_on_white() -> None:
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[:4] = (0, 128, 0, 255)
    loaded = load_image(encode(Image.fromarray(rgba, "RGBA"), "WEBP", lossless=True))
    assert tuple(loaded[0, 0]) == (0, 128, 0)
    assert tuple(loaded[7, 7]) == (255, 255, 255)


def test_la_composites_on_white() -> None:
    la = np.zeros((2, 2, 2), np.uint8)
    la[0, 0] = (0, 0)  # transparent black
    la[0, 1] = (100, 255)  # opaque grey
    loaded = load_image(encode(Image.fromarray(la, "LA"), "PNG"))
    assert tuple(loaded[0, 0]) == (255, 255, 255)
    assert tuple(loaded[0, 1]) == (100, 100, 100)


def test_palette_with_transparency() -> None:
    im = Image.new("P", (4, 2), 0)
    im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9))
    im.putpixel((1, 0), 1)
    im.putpixel((2, 0), 2)
    im.info["transparency"] = 0
    loaded = load_image(encode(im, "PNG", transparency=0))
    assert tuple(loaded[0, 0]) == (255, 255, 255)  # transparent index -> white, not black
    assert tuple(loaded[0, 1]) == (255, 0, 0)
    assert tuple(loaded[0, 2]) == (0, 255, 0)


def test_palette_without_transparency() -> None:
    im = Image.fromarray(colourful()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    expected = np.asarray(im.convert("RGB"))
    np.testing.assert_array_equal(load_image(encode(im, "PNG")), expected)
    np.testing.assert_array_equal(load_image(encode(im, "BMP")), expected)


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF"])
def test_one_bit(fmt: str) -> None:
    bits = (np.indices((8, 10)).sum(axis=0) % 2).astype(bool)
    loaded = load_image(encode(Image.fromarray(bits), fmt))
    assert_rgb(loaded, bits.shape)
    np.testing.assert_array_equal(loaded[:, :, 1], np.where(bits, 255, 0))


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_sixteen_bit_uses_the_full_range(fmt: str) -> None:
    gradient = np.tile(np.linspace(0, 65535, 256).round().astype(np.uint16), (4, 1))
    im = Image.fromarray(gradient)
    assert im.mode.startswith("I;16")
    loaded = load_image(encode(im, fmt))
    row = loaded[0, :, 0].astype(int)
    assert row.min() == 0 and row.max() == 255
    assert np.all(np.diff(row) >= 0)
    assert abs(row[128] - 128) <= 1  # scaled, not clipped at 255
    assert np.unique(row).size > 200  # not collapsed to a few levels


def test_int32_in_sixteen_bit_range_is_scaled() -> None:
    values = np.tile(np.linspace(0, 65535, 64).round().astype(np.int32), (2, 1))
    loaded = load_image(encode(Image.fromarray(values, "I"), "TIFF"))
    assert loaded[0, 0, 0] == 0 and loaded[0, -1, 0] == 255
    assert 120 <= loaded[0, 32, 0] <= 135


def test_int32_with_negative_values_is_stretched() -> None:
    values = np.tile(np.linspace(-1000, 1000, 64).round().astype(np.int32), (2, 1))
    loaded = load_image(encode(Image.fromarray(values, "I"), "TIFF"))
    assert loaded[0, 0, 0] == 0 and loaded[0, -1, 0] == 255
    assert np.all(np.diff(loaded[0, :, 0].astype(int)) >= 0)


def test_float_unit_range_maps_to_0_255() -> None:
    values = np.tile(np.linspace(0.0, 1.0, 32, dtype=np.float32), (2, 1))
    loaded = load_image(encode(Image.fromarray(values, "F"), "TIFF"))
    assert loaded[0, 0, 0] == 0 and loaded[0, -1, 0] == 255
    assert abs(int(loaded[0, 16, 0]) - round(16 / 31 * 255)) <= 1


def test_float_other_range_and_nan() -> None:
    values = np.tile(np.linspace(-5.0, 5000.0, 32, dtype=np.float32), (2, 1))
    values[1, 3] = np.nan
    loaded = load_image(encode(Image.fromarray(values, "F"), "TIFF"))
    assert loaded[0, 0, 0] == 0 and loaded[0, -1, 0] == 255


@pytest.mark.parametrize(("fmt", "tolerance"), [("TIFF", 0), ("JPEG", 6)])
def test_cmyk(fmt: str, tolerance: int) -> None:
    im = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red
    im.paste((0, 0, 0, 255), (0, 8, 16, 16))  # black bottom half
    loaded = load_image(encode(im, fmt))
    assert_rgb(loaded, (16, 16))
    assert np.abs(loaded[2, 2].astype(int) - (255, 0, 0)).max() <= tolerance
    assert np.abs(loaded[13, 13].astype(int) - (0, 0, 0)).max() <= tolerance


def test_multi_frame_tiff_gives_first_frame() -> None:
    frames = [Image.new("RGB", (8, 6), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = encode(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(data)).n_frames == 3
    loaded = load_image(data)
    assert_rgb(loaded, (6, 8))
    assert tuple(loaded[3, 3]) == (255, 0, 0)


def test_animated_webp_gives_first_frame() -> None:
    frames = [Image.new("RGB", (8, 6), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    loaded = load_image(data)
    assert tuple(loaded[3, 3]) == (255, 0, 0)


# --- size limits ----------------------------------------------------------------------------


def test_24_megapixel_photo_loads() -> None:
    im = Image.new("RGB", (6000, 4000), (10, 200, 30))
    loaded = load_image(encode(im, "JPEG", quality=50))
    assert_rgb(loaded, (4000, 6000))
    assert np.abs(loaded[2000, 3000].astype(int) - (10, 200, 30)).max() <= 4


def test_over_limit_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    # 8000x8000 is above our 50 MP limit but below Pillow's own guard, so our check must catch it;
    # the file has no real pixel data, so any attempt to decode would fail differently.
    decoded = []
    real_load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(1) or real_load(self))
    with pytest.raises(ImageLoadError) as info:
        load_image(png_header_only(8000, 8000), name="huge.png")
    message = str(info.value)
    assert message.startswith("huge.png is 8000x8000 pixels")
    assert "limit is 50 megapixels" in message
    assert not decoded


@pytest.mark.parametrize("side", [10_000, 100_000])
def test_decompression_bombs_are_refused_cleanly(side: int) -> None:
    limit_before = Image.MAX_IMAGE_PIXELS
    filters_before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageLoadError, match="too large|limit"):
            load_image(png_header_only(side, side))
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert limit_before == Image.MAX_IMAGE_PIXELS  # the global guard is untouched
    assert warnings.filters == filters_before


def test_lowered_limit_refuses_a_small_image() -> None:
    data = encode(Image.fromarray(colourful(100, 100)), "PNG")
    with pytest.raises(ImageLoadError, match=r"100x100 pixels .*limit is 5,000 pixels"):
        load_image(data, max_pixels=5_000)
    assert load_image(data, max_pixels=10_000).shape == (100, 100, 3)


def test_raised_limit_beyond_pillow_guard_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)  # Pillow warns above 1000, errors above 2000
    data = encode(Image.fromarray(colourful(40, 40)), "PNG")  # 1600 pixels: in Pillow's warning band
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert load_image(data, max_pixels=10_000).shape == (40, 40, 3)
    assert not caught  # the caller allowed this size, so no bomb warning leaks out
    with pytest.raises(ImageLoadError):  # with our default limit the warning band is refused
        load_image(data, max_pixels=1_000)
    with pytest.raises(ImageLoadError, match="too large"):  # Pillow's hard error still applies
        load_image(encode(Image.fromarray(colourful(50, 50)), "PNG"), max_pixels=10_000)


# --- bad input ------------------------------------------------------------------------------


def assert_plain_message(error: ImageLoadError) -> str:
    message = str(error)
    assert message.endswith(".") and "\n" not in message
    for jargon in ("PIL", "cannot identify", "Traceback", "errno"):
        assert jargon not in message
    return message


def test_truncated_jpeg() -> None:
    from skimage import data as samples

    jpeg = encode(Image.fromarray(samples.astronaut()), "JPEG", quality=90)
    with pytest.raises(ImageLoadError) as info:
        load_image(jpeg[: len(jpeg) // 2], name="cut.jpg")
    message = assert_plain_message(info.value)
    assert message.startswith("cut.jpg") and "damaged" in message


def test_truncated_png() -> None:
    png = encode(Image.fromarray(colourful(200, 200)), "PNG")
    with pytest.raises(ImageLoadError, match="damaged"):
        load_image(png[: len(png) // 2])


def test_corrupt_header_of_allowed_format() -> None:
    with pytest.raises(ImageLoadError, match="PNG.*damaged"):
        load_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)


def test_random_bytes() -> None:
    noise = np.random.default_rng(0).bytes(4096)
    with pytest.raises(ImageLoadError) as info:
        load_image(noise)
    message = assert_plain_message(info.value)
    assert message == f"This file is not an image file we can read ({ALLOWED_FORMATS_TEXT})."


def test_empty_input(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="empty"):
        load_image(b"")
    with pytest.raises(ImageLoadError, match="empty"):
        load_image(io.BytesIO())
    empty = tmp_path / "nothing.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageLoadError, match="nothing.jpg is empty"):
        load_image(empty)


def test_text_file(tmp_path: Path) -> None:
    notes = tmp_path / "notes.jpg"
    notes.write_text("these are my notes, not a photo\nsecond line\n")
    with pytest.raises(ImageLoadError) as info:
        load_image(notes)
    message = assert_plain_message(info.value)
    assert message.startswith("notes.jpg is a text file")
    assert ALLOWED_FORMATS_TEXT in message


def test_gif_is_refused_naming_allowed_formats() -> None:
    gif = encode(Image.new("RGB", (8, 8), (255, 0, 0)), "GIF")
    with pytest.raises(ImageLoadError) as info:
        load_image(gif, name="cat.gif")
    message = assert_plain_message(info.value)
    assert message.startswith("cat.gif is a GIF file")
    assert ALLOWED_FORMATS_TEXT in message


@pytest.mark.parametrize(
    ("head", "kind"),
    [(b"%PDF-1.7\n%\xe2\xe3", "PDF"), (b"\x00\x00\x00\x18ftypheic\x00\x00", "HEIC"), (b"<svg xmlns='x'>", "SVG")],
)
def test_other_formats_are_named(head: bytes, kind: str) -> None:
    with pytest.raises(ImageLoadError, match=kind):
        load_image(head + b"\x00" * 64)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "gone" / "photo.jpg"
    with pytest.raises(ImageLoadError) as info:
        load_image(missing)
    assert str(missing) in assert_plain_message(info.value)


def test_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="folder"):
        load_image(tmp_path)


def test_error_type_is_a_value_error() -> None:
    assert issubclass(ImageLoadError, ValueError)


def test_wrong_source_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        load_image(12345)  # type: ignore[arg-type]


# --- downscaling and encoding ---------------------------------------------------------------


def test_small_images_are_not_downscaled() -> None:
    image = colourful(480, 640)
    small, scale = downscale_for_detection(image, max_side=1280)
    assert small is image and scale == 1.0


def test_downscale_box_round_trip() -> None:
    image = np.zeros((3000, 2000, 3), np.uint8)
    box = (600, 1500, 300, 330)  # x, y, w, h
    image[1500:1830, 600:900] = 255
    small, scale = downscale_for_detection(image, max_side=1280)
    assert max(small.shape[:2]) == 1280
    assert small.shape[:2] == (1280, round(2000 * scale))
    # find the bright block in the small image, map it back, compare with where it really is
    ys, xs = np.nonzero(small[:, :, 0] > 127)
    found_small = (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
    found = scale_box(found_small, scale)
    tolerance = 1 / scale + 1
    assert all(abs(a - b) <= tolerance for a, b in zip(found, box))


def test_scale_box_is_the_inverse_of_scaling() -> None:
    assert scale_box((10, 20, 30, 40), 0.5) == (20, 40, 60, 80)
    assert scale_box((10, 20, 30, 40), 1.0) == (10, 20, 30, 40)
    with pytest.raises(ValueError):
        scale_box((1, 2, 3, 4), 0.0)


def test_downscale_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        downscale_for_detection(colourful(), max_side=0)
    with pytest.raises(ValueError):
        downscale_for_detection(np.zeros((0, 5, 3), np.uint8))


def test_encode_png_round_trips() -> None:
    image = colourful()
    data = encode_png(image)
    assert data.startswith(b"\x89PNG")
    np.testing.assert_array_equal(load_image(data), image)
    grey = image[:, :, 1].copy()
    np.testing.assert_array_equal(load_image(encode_png(grey))[:, :, 0], grey)
    with pytest.raises(ValueError):
        encode_png(image.astype(np.float32))
