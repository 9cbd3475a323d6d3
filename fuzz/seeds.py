"""Seed inputs for the fuzzers: small valid files of every format we accept, made on the spot
(nothing of a face, nothing downloaded)."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
from PIL import Image


def image_seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
    seeds: dict[str, bytes] = {}
    for fmt, mode in (("PNG", "RGB"), ("PNG", "RGBA"), ("PNG", "P"), ("PNG", "I;16"), ("JPEG", "RGB"),
                      ("JPEG", "CMYK"), ("WEBP", "RGB"), ("BMP", "RGB"), ("TIFF", "RGB"), ("TIFF", "L"),
                      ("GIF", "P")):
        im = Image.fromarray(rgb).convert(mode) if mode != "I;16" else Image.fromarray(
            rgb[..., 0].astype(np.uint16) * 257).convert("I;16")
        buf = io.BytesIO()
        im.save(buf, format=fmt)
        seeds[f"{fmt.lower()}_{mode.replace(';', '')}.{fmt.lower()}"] = buf.getvalue()
    return seeds


def video_seeds() -> dict[str, bytes]:
    seeds: dict[str, bytes] = {}
    for container, codec in (("mp4", "h264"), ("webm", "vp8"), ("avi", "mjpeg")):
        buf = io.BytesIO()
        with av.open(buf, mode="w", format=container) as out:
            stream = out.add_stream(codec, rate=5)
            stream.width, stream.height = 32, 24
            stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
            for i in range(3):
                frame = av.VideoFrame.from_ndarray(np.full((24, 32, 3), 40 * i, np.uint8), format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        seeds[f"clip.{container}"] = buf.getvalue()
    return seeds


def write(folder: Path, seeds: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (folder / name).write_bytes(data)
    return folder
