"""Screenshots of every page at desktop and phone width, in real Chromium against `streamlit run`
with the shipped models, for looking at (issue reviews) and for the README:

    python -m bench.tables.screenshots [--out bench/results/screenshots]

The Photo page gets scikit-image's astronaut and its coffee-cup photo (public domain / CC0,
shipped with scikit-image), the Video page a short clip of the astronaut; the Live webcam page
is shown before the camera starts (its video is checked by the browser tests). Writes
PAGE_desktop.png and PAGE_phone.png, each the whole page, and page_heights.json (not committed:
bench/results/screenshots/ is ignored), and docs/img/photo_page.jpg (the README's picture: the Photo page's first screenful)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import cv2

from tests.helpers.browser import find_chromium, launch, mp4_clip
from tests.helpers.streamlit_server import ROOT, free_port, running, streamlit_command, streamlit_env, wait_healthy

VIEWPORTS = {"desktop": {"width": 1400, "height": 1000}, "phone": {"width": 390, "height": 844}}
PAGES = {"home": "/", "photo": "/Photo", "webcam": "/Live_webcam", "video": "/Video_file",
         "comparison": "/Model_comparison"}
TIMEOUT_MS = 180_000  # the first page load loads the model and detector


def inputs(folder: Path) -> tuple[list[Path], Path]:
    from skimage import data

    photos = []
    for name, image in (("astronaut.jpg", data.astronaut()), ("coffee.jpg", data.coffee())):
        path = folder / name
        cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        photos.append(path)
    video = folder / "astronaut.mp4"
    video.write_bytes(mp4_clip(cv2.resize(data.astronaut(), (320, 320)), frames=12, fps=6, shift=3))
    return photos, video


# Streamlit scrolls its main column inside the page, so a "full page" shot of the window would show
# the first screenful only: the window is made as tall as that column's content instead.
CONTENT_HEIGHT_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]') || document.querySelector('section.main');
  const inner = main && main.firstElementChild;
  return Math.max(main ? main.scrollHeight : 0, inner ? inner.scrollHeight : 0, document.body.scrollHeight);
}"""
MAX_SHOT_HEIGHT = 16_000  # pixels: Chromium's own limit for one capture is near this


def shoot(page, base: str, name: str, path: str, photos: list[Path], video: Path, out: Path) -> int:
    """Screenshot one page whole; returns its content height in CSS pixels."""
    page.goto(base + path, timeout=TIMEOUT_MS, wait_until="domcontentloaded")
    page.get_by_text("Settings").first.wait_for(timeout=TIMEOUT_MS)  # the sidebar drew: the page ran
    if name == "photo":
        page.locator('input[type="file"]').first.set_input_files([str(p) for p in photos])
        page.get_by_text("astronaut.jpg:").first.wait_for(timeout=TIMEOUT_MS)
        page.get_by_text("coffee.jpg:").first.wait_for(timeout=TIMEOUT_MS)
    elif name == "video":
        page.locator('input[type="file"]').first.set_input_files(str(video))
        page.get_by_text("Emotion timeline").first.wait_for(timeout=TIMEOUT_MS)
    elif name == "comparison":
        page.get_by_text("Model comparison").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_timeout(1500)  # charts finish drawing (a picture, not a measurement)
    viewport = dict(page.viewport_size)
    height = int(page.evaluate(CONTENT_HEIGHT_JS))
    page.set_viewport_size({"width": viewport["width"], "height": min(max(height, viewport["height"]), MAX_SHOT_HEIGHT)})
    page.wait_for_timeout(800)  # the taller window's layout settles
    page.screenshot(path=str(out), full_page=True)
    page.set_viewport_size(viewport)
    return height


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "screenshots")
    args = parser.parse_args(argv)
    if find_chromium() is None:
        print("bench.tables.screenshots needs Chromium: apt-get install chromium fonts-dejavu-core", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    heights: dict[str, int] = {}  # how long each page is: a phone user scrolls all of it
    with tempfile.TemporaryDirectory(prefix="fer-shots-") as tmp:
        photos, video = inputs(Path(tmp))
        port = free_port()
        log = Path(tmp) / "streamlit.log"
        with running(streamlit_command(port), port, log, streamlit_env({"FER_STUN_URLS": "none"})) as server:
            wait_healthy(server, port, log)
            with sync_playwright() as pw:
                browser = launch(pw)
                try:
                    for kind, viewport in VIEWPORTS.items():
                        context = browser.new_context(viewport=viewport, device_scale_factor=1,
                                                      is_mobile=kind == "phone", has_touch=kind == "phone")
                        page = context.new_page()
                        for name, path in PAGES.items():
                            shot = args.out / f"{name}_{kind}.png"
                            heights[f"{name}_{kind}"] = shoot(page, f"http://127.0.0.1:{port}", name, path, photos,
                                                              video, shot)
                            print(f"wrote {shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot} "
                                  f"({heights[f'{name}_{kind}']} px tall)")
                        context.close()
                finally:
                    browser.close()
    (args.out / "page_heights.json").write_text(json.dumps(heights, indent=1) + "\n")
    readme_picture = ROOT / "docs" / "img" / "photo_page.jpg"
    _viewport_top(args.out / "photo_desktop.png", readme_picture)
    print(f"wrote {readme_picture.relative_to(ROOT)}")
    return 0


def _viewport_top(full_page: Path, out: Path, height: int = 1000, width: int = 1000) -> None:
    """The first screenful of a full-page shot, scaled to `width`, as a JPEG small enough for the README."""
    image = cv2.imread(str(full_page))[:height]
    scale = width / image.shape[1]
    small = cv2.resize(image, (width, round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(out), small, [cv2.IMWRITE_JPEG_QUALITY, 85])


if __name__ == "__main__":
    raise SystemExit(main())
