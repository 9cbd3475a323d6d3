"""Headless Chromium on the app's pages, for the browser tests and the benchmarks that drive the
app (bench.capacity: load, soak; bench.tables: app_start, screenshots). With streamlit_server.py
beside it, the one browser and Streamlit harness that tests/ and bench/ share.

Debian's `chromium` with a fake camera that plays a YUV4MPEG2 file in a loop, driven by
Playwright (no Playwright browser download). `WebcamPage` is one visitor: it opens the page,
presses Start, waits for the first frame our callback drew (the FPS readout darkens the top-left
corner), and reads what the page and the returned video show. `mp4_clip` makes the video that
tests and screenshots upload."""

from __future__ import annotations

import base64
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fer_core.labels import EMOTION_COLORS_RGB

STREAM_TIMEOUT_S = 120  # WebRTC setup plus the first analysed frames on a busy 2-core machine


def find_chromium() -> str | None:
    for candidate in (os.environ.get("FER_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 15) -> None:
    """RGB frames as a YUV4MPEG2 4:2:0 video, the format Chromium's fake camera reads (and loops)."""
    h, w = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            f.write(b"FRAME\n" + cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())


def mp4_clip(image: np.ndarray, frames: int = 8, fps: int = 4, shift: int = 2) -> bytes:
    """An H.264 MP4 in memory: `image` panning `shift` pixels per frame (test and screenshot videos)."""
    import io

    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = image.shape[1], image.shape[0], "yuv420p"
        for i in range(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.roll(image, shift * i, axis=1), format="rgb24")):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()


def chromium_args(video: Path) -> list[str]:
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
        "--autoplay-policy=no-user-gesture-required",
        "--no-sandbox",  # CI containers run as root
        "--disable-dev-shm-usage",
        # many visitors share one headless browser: none of their pages may count as a background
        # tab whose timers, rendering or media Chromium slows down or pauses
        "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows",
        "--disable-renderer-backgrounding",
        "--disable-background-media-suspend",
    ]


def launch(pw: Any, video: Path | None = None, *extra: str) -> Any:
    """Headless Chromium through Playwright `pw`; with `video`, the fake camera plays it."""
    args = chromium_args(video) if video is not None else ["--no-sandbox", "--disable-dev-shm-usage"]
    return pw.chromium.launch(executable_path=find_chromium(), headless=True, args=[*args, *extra])


# --- the fake camera's picture, and is the overlay in a returned frame? ---------------------

FRAME_W, FRAME_H = 640, 480
ASTRONAUT_FACE = (174, 68, 104, 106)  # x, y, w, h of the face in scikit-image's 512x512 astronaut (by eye)
BACKGROUND = 90  # grey around the picture: far from every emotion colour, darkened by the readout
COLOR_TOLERANCE = 40  # per channel, after two VP8 encodes and 4:2:0 chroma subsampling
MIN_NEW_COLOR_PIXELS = 400  # the label tag alone fills ~100x20 px


def camera_canvas(face_rgb: np.ndarray, width: int = FRAME_W, height: int = FRAME_H) -> np.ndarray:
    """A camera picture: the face scaled to the frame height, centred on plain grey. With
    scikit-image's astronaut at the default size, `overlay_drawn` knows where its face is."""
    canvas = np.full((height, width, 3), BACKGROUND, np.uint8)
    x0 = (width - height) // 2
    canvas[:, x0 : x0 + height] = cv2.resize(face_rgb, (height, height), interpolation=cv2.INTER_AREA)
    return canvas


def face_region(shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Where the box around the astronaut's face must be drawn in a returned frame of `shape`:
    the face's place in the camera picture, widened by half its size on every side (the box
    follows the crop framing and the label tag sits on top of it)."""
    scale = FRAME_H / 512
    x, y, w, h = (v * scale for v in ASTRONAUT_FACE)
    x += (FRAME_W - FRAME_H) // 2
    fy, fx = shape[0] / FRAME_H, shape[1] / FRAME_W
    return (slice(max(0, int((y - h / 2) * fy)), int((y + 1.5 * h) * fy)),
            slice(max(0, int((x - w / 2) * fx)), int((x + 1.5 * w) * fx)))


def new_emotion_color_pixels(frame: np.ndarray, reference: np.ndarray) -> dict[str, int]:
    """Per emotion: pixels near its colour around the face in the returned frame minus those at
    the same place in the input. Only the face region counts, so the FPS readout or any colour
    elsewhere cannot pass for the box."""
    ref = cv2.resize(reference, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_AREA)
    region = face_region(frame.shape)

    def near(img: np.ndarray, color: tuple[int, int, int]) -> int:
        return int(np.all(np.abs(img[region].astype(np.int16) - color) <= COLOR_TOLERANCE, axis=-1).sum())

    return {name: near(frame, c) - near(ref, c) for name, c in EMOTION_COLORS_RGB.items()}


def boxed(picture: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The picture with a 4-px box and a filled tag in the first emotion's colour: what the
    overlay check must recognise (or not, away from the face)."""
    out = picture.copy()
    x, y, w, h = box
    color = next(iter(EMOTION_COLORS_RGB.values()))
    cv2.rectangle(out, (x, y), (x + w, y + h), color, 4)
    cv2.rectangle(out, (x, max(0, y - 20)), (x + min(w, 100), y), color, -1)
    return out


def overlay_drawn(frame: np.ndarray, reference: np.ndarray) -> bool:
    """Our callback analysed this frame: an emotion box at the face (drawn only when the analysis
    succeeded) and the darkened FPS readout. For `camera_canvas(astronaut)` pictures."""
    return (max(new_emotion_color_pixels(frame, reference).values()) >= MIN_NEW_COLOR_PIXELS
            and readout_darkened(frame, reference))


def upload_photo(page: Any, base_url: str, photo: Path, timeout_s: float = 120.0) -> str:
    """Open the Photo page, upload `photo`, wait for its result caption; returns the page text."""
    page.goto(f"{base_url}/Photo", timeout=timeout_s * 1000)
    page.locator('input[type="file"]').first.set_input_files(str(photo))
    caption = re.compile(re.escape(photo.name) + r": (no face|\d+ faces?)")
    page.get_by_text(caption).first.wait_for(timeout=timeout_s * 1000)
    return str(page.inner_text("body"))


GRAB_FRAME_JS = """(video) => {
    if (!video.videoWidth || video.readyState < 2) return null;
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext('2d').drawImage(video, 0, 0);
    return canvas.toDataURL('image/png');
}"""

# frames the browser has decoded and shown: counts what the server sent back
PLAYBACK_JS = "(video) => video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality().totalVideoFrames : -1"


def decode_data_url(url: str) -> np.ndarray:
    png = np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8)
    return cv2.cvtColor(cv2.imdecode(png, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def readout_darkened(frame: np.ndarray, reference: np.ndarray) -> bool:
    """The FPS/latency panel halves the brightness of the top-left corner (plus white text): a
    returned frame that shows it went through our callback."""
    ref = cv2.resize(reference, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_AREA)
    h, w = frame.shape[:2]
    region = (slice(int(0.015 * h), int(0.05 * h)), slice(int(0.01 * w), int(0.06 * w)))
    # the darkened background: the median ignores the white letters
    return float(np.median(frame[region])) < 0.75 * float(np.median(ref[region]))


@dataclass(frozen=True)
class PanelStats:
    """The live panel's three figures, as the page shows them."""

    fps: float
    latency_ms: float
    skipped_share: float


_PANEL = re.compile(r"Analysed FPS\s+([\d.]+)\s+Latency\s+([\d.]+)\s*ms\s+Skipped\s+([\d.]+)%")


def parse_panel(text: str) -> PanelStats | None:
    m = _PANEL.search(text)
    return None if m is None else PanelStats(float(m[1]), float(m[2]), float(m[3]) / 100.0)


class WebcamPage:
    """One visitor on the Live webcam page, in its own browser context (its own Streamlit session)."""

    def __init__(self, browser: Any, url: str, reference: np.ndarray, **context_options: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000}, **context_options)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.url, self.reference = url, reference
        self.component = self.page.frame_locator("iframe[title*='streamlit_webrtc']")
        self.video = self.component.locator("video").first

    def start(self, timeout_s: float = STREAM_TIMEOUT_S) -> None:
        self.page.goto(self.url, wait_until="domcontentloaded")
        button = self.component.get_by_role("button", name="Start camera")
        button.wait_for(timeout=timeout_s * 1000)
        button.click()

    def grab(self) -> np.ndarray | None:
        data_url = self.video.evaluate(GRAB_FRAME_JS)
        return decode_data_url(data_url) if data_url else None

    def wait_processed(self, timeout_s: float = STREAM_TIMEOUT_S, poll_s: float = 0.25) -> np.ndarray | None:
        """The first returned frame our callback analysed (emotion box at the face and readout;
        `overlay_drawn`), or None when none came in time."""
        self.video.wait_for(timeout=timeout_s * 1000)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                frame = self.grab()
            except Exception:  # playwright's TimeoutError / Error: the component is being rebuilt,
                frame = None   # or a starved browser did not answer in time; poll again
            if frame is not None and overlay_drawn(frame, self.reference):
                return frame
            self.page.wait_for_timeout(poll_s * 1000)
        return None

    def frames_shown(self, timeout_s: float = 5.0) -> int | None:
        """Frames the page's video element has shown so far; None when it has no video element
        (the stream ended, or the component is being rebuilt)."""
        try:
            return int(self.video.evaluate(PLAYBACK_JS, timeout=timeout_s * 1000))
        except Exception:  # playwright's TimeoutError / Error: no such element now
            return None

    def panel(self, timeout_s: float = 5.0) -> PanelStats | None:
        return parse_panel(self.page.inner_text("body", timeout=timeout_s * 1000))

    def text(self, timeout_s: float = 30.0) -> str:
        return str(self.page.inner_text("body", timeout=timeout_s * 1000))

    def stop(self) -> None:
        self.component.get_by_role("button", name="Stop").click()

    def close(self) -> None:
        self.context.close()
