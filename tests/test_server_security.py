"""The running server with the shipped .streamlit/config.toml: XSRF
protection refuses uploads without the visitor's own token, an upload over the size limit gets
a clear message in the browser, a crashing script shows visitors no error details, and a deep
link that is a fresh server's first request opens under the app's own menu."""

from __future__ import annotations

import http.cookiejar
import re
import shlex
import shutil
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import pytest

from tests.helpers.browser import find_chromium, launch, upload_photo
from tests.helpers.streamlit_server import ROOT, free_port, running, streamlit_command, streamlit_env, wait_healthy

CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())


def put(port: int, path: str, headers: dict[str, str], opener: urllib.request.OpenerDirector,
        body: bytes = b"x") -> int | str:
    """The status code, or how the connection ended when the server stopped reading."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="PUT", headers=headers)
    try:
        with opener.open(req, timeout=60) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except (urllib.error.URLError, ConnectionError) as err:
        return type(getattr(err, "reason", err)).__name__


def test_uploads_need_the_visitors_xsrf_token(tmp_path):
    assert CONFIG["server"]["enableXsrfProtection"] is True
    port = free_port()
    env = streamlit_env()  # the shipped models: no page here runs a model
    log = tmp_path / "server.log"
    with running(streamlit_command(port), port, log, env) as server:
        assert wait_healthy(server, port, log) == (200, "ok")
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        # the page's script polls the health endpoint first, which hands the browser its token
        with opener.open(f"http://127.0.0.1:{port}/_stcore/health", timeout=10) as page:
            assert page.status == 200
        token = next((c.value for c in jar if c.name == "_streamlit_xsrf"), None)
        assert token, "the server sets the XSRF cookie"
        upload = "/_stcore/upload_file/not-a-session/file1"
        # no token, or a forged one: refused before anything else is looked at
        assert put(port, upload, {}, opener) == 403
        assert put(port, upload, {"X-Xsrftoken": "2|00000000|" + "0" * 32 + "|0"}, opener) == 403
        # the visitor's own token passes the check (then the unknown session is refused: 400)
        assert put(port, upload, {"X-Xsrftoken": token}, opener) == 400


@pytest.fixture
def browser():
    """Headless Chromium (Debian's, driven by Playwright), closed after the test."""
    if find_chromium() is None:
        pytest.skip("no Chromium (apt-get install chromium fonts-dejavu-core)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (see requirements-dev)")
    with sync_api.sync_playwright() as pw:
        chromium = launch(pw)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def app_page(browser: Any, models: Path, tmp_path: Path, path: str) -> Iterator[tuple[Any, str]]:
    """A fresh server on `models` and a browser page opened at `path` as its first request:
    (the page, the server's base URL), until the block ends."""
    port = free_port()
    log = tmp_path / "server.log"
    with running(streamlit_command(port), port, log, streamlit_env({"FER_MODELS_DIR": str(models)})) as server:
        wait_healthy(server, port, log)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}{path}", timeout=120_000)
        yield page, f"http://127.0.0.1:{port}"


def test_a_photo_over_the_upload_limit_gets_a_clear_message_and_breaks_nothing(tiny_models_dir, astronaut,
                                                                              tmp_path, browser):
    """Headless Chromium on the Photo page: a file over server.maxUploadSize is refused with the
    limit named, and a normal photo right after it is analysed."""
    limit_mb = CONFIG["server"]["maxUploadSize"]
    big = tmp_path / "huge.jpg"
    with open(big, "wb") as fh:  # sparse: the size is what counts
        fh.truncate((limit_mb + 1) * 2**20)
    photo = tmp_path / "visitor.png"
    cv2.imwrite(str(photo), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    with app_page(browser, tiny_models_dir, tmp_path, "/Photo") as (page, base):
        page.locator('input[type="file"]').first.set_input_files(str(big))
        page.get_by_text(re.compile(rf"File must be {limit_mb}(\.0)? ?MB or smaller")).first.wait_for(timeout=60_000)
        upload_photo(page, base, photo)


def test_a_crashing_page_shows_visitors_no_error_details(tmp_path, browser):
    """The shipped config.toml (client.showErrorDetails = "none") on a running server: a script
    that raises shows the visitor a generic message, not its exception text or traceback; the
    server's console still has them."""
    shutil.copytree(ROOT / ".streamlit", tmp_path / ".streamlit")  # streamlit reads it from the working folder
    (tmp_path / "crash.py").write_text(
        "import streamlit as st\nst.title('crash test')\nraise RuntimeError('secret-detail-1234 in /srv/app')\n")
    port = free_port()
    log = tmp_path / "server.log"
    env = {k: v for k, v in streamlit_env().items() if not k.startswith("STREAMLIT_CLIENT")}
    command = f"cd {shlex.quote(str(tmp_path))} && exec {shlex.join(streamlit_command(port, 'crash.py'))}"
    with running(command, port, log, env, shell=True) as server:
        wait_healthy(server, port, log)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
        page.get_by_text("crash test").first.wait_for(timeout=60_000)
        page.get_by_test_id("stException").first.wait_for(timeout=60_000)
        text = page.inner_text("body")
    assert "secret-detail-1234" not in text and "Traceback" not in text and "RuntimeError" not in text, text
    assert "secret-detail-1234" in log.read_text()  # the operator still sees it


def test_a_deep_link_as_the_first_request_opens_under_the_apps_own_menu(tiny_models_dir, tmp_path, browser):
    """Streamlit starts a server with a pages/ folder in its old multipage mode: until app.py has
    run once, /Photo ran alone under a menu made from the file names ("app" first, no "Home").
    ui.startup hands such a run over to app.py's navigation."""
    with app_page(browser, tiny_models_dir, tmp_path, "/Model_comparison") as (page, _):
        page.locator("h1").first.wait_for(timeout=60_000)
        menu = page.locator('[data-testid="stSidebarNav"] a')
        menu.first.wait_for(timeout=60_000)
        titles = [text.strip().splitlines()[-1] for text in menu.all_inner_texts()]  # after the icon's name
        assert titles == ["Home", "Photo", "Live webcam", "Video file", "Model comparison"]
        assert page.locator("h1").first.inner_text().startswith("Model comparison")
