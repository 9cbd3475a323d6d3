"""Nothing of a face is kept: the running app (`streamlit run app.py`, production settings from
.streamlit/config.toml) serves a photo, a video and a webcam stream to headless Chromium, with a
fresh, empty HOME and TMPDIR. Then:

* no file was written: HOME and TMPDIR are still empty, and the checkout holds no new file;
* the server's log carries no image data (no data URLs, no long base64 runs) and no result
  (no emotion name, no probability);
* the media the pages showed (the annotated photo, the annotated video, the CSV/JSON/PNG
  downloads) were served while the visitor was there and are gone once the session ended: after
  the browser leaves and the session expires, Streamlit answers 404 for every one of them.
  (Without the app's session reaper, ui/session_reaper.py, the downloads and the annotated video
  stay in the server's memory for good: Streamlit never shuts an expired session down.)

The test shortens Streamlit's `server.disconnectedSessionTTL` (default 120 s: a tab that lost
its connection can come back to its session) to 2 s, so that the expiry happens inside the test."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import pytest

from fer_core.labels import EMOTIONS
from tests.helpers.browser import WebcamPage, camera_canvas, find_chromium, launch, mp4_clip, upload_photo, write_y4m
from tests.helpers.streamlit_server import ROOT, free_port, running, streamlit_command, streamlit_env, wait_healthy
from ui.session_reaper import REAP_EVERY_S

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium executable found (apt-get install chromium fonts-dejavu-core)")
PAGE_TIMEOUT_MS = 120_000
SESSION_TTL_S = 2
# generated, not face data: bytecode, tool caches, training runs of another process
IGNORED_PARTS = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "runs", ".venv"}


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and not IGNORED_PARTS.intersection(p.relative_to(root).parts)}


def media_urls(page) -> set[str]:
    """Every /media/ address the page uses: shown images and videos, and download buttons' targets."""
    return set(page.evaluate("""() => {
        const urls = [];
        const add = (u) => { if (u && u.includes('/media/')) urls.push(new URL(u, location.href).href); };
        document.querySelectorAll('img, video, source').forEach(e => add(e.currentSrc || e.src));
        document.querySelectorAll('a').forEach(e => add(e.href));
        return urls;
    }"""))


def download_urls(page, expected: int) -> set[str]:
    """Streamlit registers a download's data when the button renders; a click fetches it."""
    buttons = page.get_by_test_id("stDownloadButton").locator("button")
    buttons.nth(expected - 1).wait_for(timeout=PAGE_TIMEOUT_MS)
    urls: set[str] = set()
    for button in buttons.all():
        with page.expect_download(timeout=PAGE_TIMEOUT_MS) as info:
            button.click()
        urls.add(info.value.url)
    return urls


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def shown_while_here(page, downloads: int) -> set[str]:
    """The page's media addresses, checked to be served now (so that the 404s at the end can fail)."""
    urls = download_urls(page, downloads) | media_urls(page)
    assert {url: status(url) for url in urls} == dict.fromkeys(urls, 200)
    return urls


def test_photo_video_and_webcam_leave_no_trace(tiny_models_dir, astronaut, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (see requirements-dev)")
    home, tmpdir, inputs = tmp_path / "home", tmp_path / "tmp", tmp_path / "inputs"
    for d in (home, tmpdir, inputs):
        d.mkdir()
    photo = inputs / "visitor.png"
    cv2.imwrite(str(photo), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    clip = inputs / "visitor.mp4"
    clip.write_bytes(mp4_clip(cv2.resize(astronaut, (256, 256))))
    camera = inputs / "camera.y4m"
    canvas = camera_canvas(astronaut)
    write_y4m(camera, [canvas] * 10)

    repo_before = files_under(ROOT)
    port = free_port()
    env = streamlit_env({"FER_MODELS_DIR": str(tiny_models_dir), "FER_STUN_URLS": "none", "HOME": str(home),
                         "TMPDIR": str(tmpdir), "PYTHONDONTWRITEBYTECODE": "1",
                         "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(SESSION_TTL_S)})
    log = inputs / "streamlit.log"
    base = f"http://127.0.0.1:{port}"
    with running(streamlit_command(port), port, log, env) as server:
        assert wait_healthy(server, port, log) == (200, "ok")
        served: set[str] = set()
        with sync_api.sync_playwright() as pw:
            browser = launch(pw, camera)
            try:
                context = browser.new_context(accept_downloads=True)
                page = context.new_page()
                upload_photo(page, base, photo)
                served |= shown_while_here(page, downloads=3)  # annotated PNG, CSV, JSON

                page.goto(f"{base}/Video_file", timeout=PAGE_TIMEOUT_MS)
                page.locator('input[type="file"]').first.set_input_files(str(clip))
                page.get_by_text("Frames with a face").first.wait_for(timeout=PAGE_TIMEOUT_MS)
                page.locator("video").first.wait_for(timeout=PAGE_TIMEOUT_MS)
                served |= shown_while_here(page, downloads=2)  # annotated MP4, CSV

                visitor = WebcamPage(browser, f"{base}/Live_webcam", canvas)
                visitor.start()
                assert visitor.wait_processed() is not None, "the webcam stream never came back processed"
                visitor.page.get_by_text("Analysed FPS").first.wait_for(timeout=30_000)
                visitor.stop()
                visitor.close()
                assert len(served) >= 7, served  # photo, its PNG, CSV, JSON; video, its MP4 and CSV
                context.close()
            finally:
                browser.close()
        # the sessions expire; the app's session reaper shuts them down and their media are dropped
        # wait for the state, bounded only against a hang: the reaper acts within a few of its periods
        deadline = time.monotonic() + SESSION_TTL_S + 3 * REAP_EVERY_S + 60
        while True:
            after = {url: status(url) for url in served}
            if set(after.values()) == {404} or time.monotonic() > deadline:
                break
            time.sleep(2)
    log_text = log.read_text()

    assert after == dict.fromkeys(served, 404), f"media still served after the session ended: {after}\n{log_text}"
    left = sorted(str(p.relative_to(tmp_path)) for d in (home, tmpdir) for p in d.rglob("*"))
    assert not left, f"files written under HOME or TMPDIR: {left}"
    assert files_under(ROOT) - repo_before == set(), "files written into the checkout"
    assert "data:image" not in log_text and not re.search(r"[A-Za-z0-9+/]{200,}", log_text), log_text[-2000:]
    found = [e for e in EMOTIONS if re.search(rf"\b{e}\b", log_text, re.I)]
    assert not found and not re.search(r"\b0\.\d{3,}\b", log_text), f"results in the server log:\n{log_text}"
