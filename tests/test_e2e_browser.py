"""End to end through a real browser: `streamlit run` with the tiny model zoo, headless Chromium
with a fake camera playing the astronaut's face, the webcam page's Start button clicked, and
the video that comes back over WebRTC checked for the emotion box and the FPS readout.

Needs Debian's `chromium` (CI installs it in .ci/run) and the `playwright` Python package; no
Playwright browser download is used. Skips, with the reason, only when Chromium is missing."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers.browser import (
    MIN_NEW_COLOR_PIXELS,
    STREAM_TIMEOUT_S,
    WebcamPage,
    boxed,
    camera_canvas,
    face_region,
    find_chromium,
    launch,
    new_emotion_color_pixels,
    overlay_drawn,
    readout_darkened,
    write_y4m,
)
from tests.helpers.streamlit_server import ROOT, free_port, running, streamlit_command, streamlit_env, wait_healthy

CHROMIUM = find_chromium()
LATER_FRAMES = 12  # frames grabbed after the first processed one, each checked for the overlay
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium executable found (apt-get install chromium fonts-dejavu-core)")


def test_the_camera_stream_comes_back_with_emotion_overlays(tiny_models_dir, astronaut, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (see requirements-dev)")
    picture = camera_canvas(astronaut)
    # the check fires on a box drawn at the face, not on the raw input or a box elsewhere
    assert not overlay_drawn(picture, picture)
    assert max(new_emotion_color_pixels(boxed(picture, (10, 10, 120, 120)), picture).values()) < MIN_NEW_COLOR_PIXELS
    face_y, face_x = face_region(picture.shape)
    at_face = (face_x.start + 30, face_y.start + 30, face_x.stop - face_x.start - 60, face_y.stop - face_y.start - 60)
    assert max(new_emotion_color_pixels(boxed(picture, at_face), picture).values()) >= MIN_NEW_COLOR_PIXELS
    video = tmp_path / "face.y4m"
    write_y4m(video, [picture] * 15)

    # With app.py (the normal layout) the page has its own URL; before the app shell exists
    # the page runs as the main script.
    app = ROOT / "app.py"
    script, path = (app, "/Live_webcam") if app.exists() else (ROOT / "pages" / "2_Live_webcam.py", "/")
    port = free_port()
    env = streamlit_env({"FER_MODELS_DIR": str(tiny_models_dir), "FER_STUN_URLS": "none"})  # offline
    log = tmp_path / "streamlit.log"
    with running(streamlit_command(port, script), port, log, env) as server:
        assert wait_healthy(server, port, log) == (200, "ok")
        with sync_api.sync_playwright() as pw:
            browser = launch(pw, video)
            try:
                frame, page_text = run_webcam_page(browser, f"http://127.0.0.1:{port}{path}", picture, log)
            finally:
                browser.close()
    # kept in pytest's tmp dir, to look at when this fails
    cv2.imwrite(str(tmp_path / "returned_frame.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    counts = new_emotion_color_pixels(frame, picture)
    assert max(counts.values()) >= MIN_NEW_COLOR_PIXELS, f"no emotion box in the returned video: {counts}"
    assert readout_darkened(frame, picture), "no FPS/latency readout on the returned video"
    assert "Analysed FPS" in page_text, "the page did not show the live statistics"
    assert "analysis failed" not in page_text and "Cannot start the analysis" not in page_text, page_text[-2000:]


def run_webcam_page(browser, url: str, picture: np.ndarray, log: Path) -> tuple[np.ndarray, str]:
    """Open the page, press Start, and return the first returned frame that carries the overlay
    (or fail with the last frame's measurements) and the page's text."""
    visitor = WebcamPage(browser, url, picture)
    visitor.start()
    visitor.video.wait_for(timeout=STREAM_TIMEOUT_S * 1000)
    deadline = time.monotonic() + STREAM_TIMEOUT_S
    last: np.ndarray | None = None
    while time.monotonic() < deadline:
        last = visitor.grab()
        if last is not None and overlay_drawn(last, picture):
            break
        visitor.page.wait_for_timeout(500)
    else:
        details = "no frame came back" if last is None else (
            f"last frame {last.shape}: new colour pixels {new_emotion_color_pixels(last, picture)}, "
            f"readout {readout_darkened(last, picture)}")
        pytest.fail(f"returned video never showed the overlay ({details}).\nbrowser console: "
                    f"{visitor.console[-20:]}\nserver log: {log.read_text()[-3000:]}")
    # from then on every frame that comes back carries the overlay: the detector runs on every
    # k-th analysed frame (FER_DETECT_EVERY) and the faces keep their boxes on the frames between
    later = []
    for _ in range(LATER_FRAMES):
        visitor.page.wait_for_timeout(150)
        later.append(visitor.grab())
    bare = [i for i, f in enumerate(later) if f is None or not overlay_drawn(f, picture)]
    assert not bare, f"frames {bare} of the {LATER_FRAMES} after the first came back without the overlay"
    # the statistics panel refreshes itself once a second while the camera runs
    visitor.page.get_by_text("Analysed FPS").first.wait_for(timeout=30_000)
    text = visitor.text()
    visitor.stop()
    return last, text
