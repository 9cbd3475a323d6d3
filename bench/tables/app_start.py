"""Cold start and memory: the Streamlit app process and a fresh library process.

* App: `streamlit run app.py` headless on a free local port. Timed from spawn until
  `/_stcore/health` answers; then (full runs, when Playwright and Chromium are installed) a
  headless browser opens the Photo page and uploads one photo, timed until the page shows the
  result ("NAME: 1 face"): the first analysis pays for loading the model and detector. First
  result = health + page ready + photo analysed (the browser's own start-up is left out).
  Peak resident memory (VmHWM) of the server's process tree after each step.
* Library: `python -m bench.tables.first_result`, timed from spawn until one frame has been analysed
  with the default model and detector (import + model load + first frame).

Only processes this module starts are stopped, by their own process group.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.common import ROOT
from bench.common.probe import run_module
from bench.common.stats import tree_memory_mib
from tests.helpers.browser import find_chromium, launch

APP = ROOT / "app.py"
HEALTH_TIMEOUT_S = 120
PAGE_TIMEOUT_S = 120
PHOTO_PAGE = "Photo"  # the app's photo page (st.navigation url path)
PHOTO_NAME = "bench_face.png"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1.0) as r:
            return r.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


@contextlib.contextmanager
def _server(port: int, log: Path, python: str = sys.executable,
            python_args: tuple[str, ...] = (), extra_env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
           "STREAMLIT_SERVER_HEADLESS": "true", "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
           "FER_STUN_URLS": "none", **(extra_env or {})}  # offline: no STUN look-ups from a benchmark
    cmd = [python, *python_args, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
           "--server.address", "127.0.0.1"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: only what we started
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def _photo_result(base_url: str, photo: Path) -> dict[str, Any]:
    """Open the Photo page in headless Chromium, upload `photo`, wait for its result caption
    ("NAME: 1 face (WxH)"). Times exclude the browser's own start-up."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"page_view": "not measured: playwright not installed"}
    if find_chromium() is None:
        return {"page_view": "not measured: no Chromium executable"}
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page()
            t0 = time.perf_counter()
            page.goto(f"{base_url}/{PHOTO_PAGE}", timeout=PAGE_TIMEOUT_S * 1000)
            upload = page.locator('input[type="file"]')
            upload.wait_for(state="attached", timeout=PAGE_TIMEOUT_S * 1000)
            ready = time.perf_counter()
            upload.set_input_files(str(photo))
            caption = re.compile(re.escape(photo.name) + r": (no face|\d+ faces?)")
            page.get_by_text(caption).first.wait_for(timeout=PAGE_TIMEOUT_S * 1000)
            done = time.perf_counter()
        except Exception as exc:  # playwright raises its own TimeoutError/Error types
            return {"page_view": f"not measured: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
        finally:
            browser.close()
    return {"page_ready_s": round(ready - t0, 2), "photo_result_s": round(done - ready, 2)}


def measure_app(browser: bool, photo: np.ndarray | None = None, python: str = sys.executable,
                python_args: tuple[str, ...] = (), extra_env: dict[str, str] | None = None,
                keep_log: Path | None = None) -> dict[str, Any]:
    """The Streamlit server's cold start and memory (see module docstring). `python` (with
    `python_args`) runs the server, so another environment can be measured; `keep_log` receives
    the server's output."""
    if not APP.is_file():
        return {"status": "not measured: app.py does not exist yet"}
    with tempfile.TemporaryDirectory(prefix="fer_bench_app_") as tmp:
        log = Path(tmp) / "streamlit.log"
        try:
            return _measure_server(Path(tmp), log, browser, photo, python, python_args, extra_env)
        finally:
            if keep_log is not None and log.exists():
                shutil.copyfile(log, keep_log)


def _measure_server(tmp: Path, log: Path, browser: bool, photo: np.ndarray | None, python: str,
                    python_args: tuple[str, ...], extra_env: dict[str, str] | None) -> dict[str, Any]:
    port = free_port()
    t0 = time.perf_counter()
    with _server(port, log, python, python_args, extra_env) as proc:
        while not _healthy(port):
            if proc.poll() is not None:
                return {"status": f"failed: streamlit exited with {proc.returncode}: {log.read_text()[-300:]}"}
            if time.perf_counter() - t0 > HEALTH_TIMEOUT_S:
                return {"status": f"failed: no health answer in {HEALTH_TIMEOUT_S} s"}
            time.sleep(0.1)
        result: dict[str, Any] = {"status": "measured", "health_s": round(time.perf_counter() - t0, 2),
                                  "memory_at_health": tree_memory_mib(proc.pid)}
        if not browser or photo is None:
            result["page_view"] = "not measured (quick run or --skip-browser)"
            return result
        path = tmp / PHOTO_NAME
        cv2.imwrite(str(path), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
        view = _photo_result(f"http://127.0.0.1:{port}", path)
        result.update(view)
        if "photo_result_s" in view:
            result["first_result_s"] = round(result["health_s"] + view["page_ready_s"] + view["photo_result_s"], 2)
            result["memory_after_first_result"] = tree_memory_mib(proc.pid)
    return result


def measure_library(inputs: Path, timeout_s: float = 180) -> dict[str, Any]:
    """A fresh process: import, load the default model and detector, analyse one frame."""
    with tempfile.TemporaryDirectory(prefix="fer_bench_first_") as tmp:
        out = Path(tmp) / "first.json"
        probe = run_module("bench.tables.first_result", [str(inputs), str(out)], out, timeout_s)
    if probe.data is None:
        return {"status": f"failed: {probe.error}"}
    data = dict(probe.data)
    data["first_result_s"] = round(data.pop("first_result_unix") - probe.started_unix, 3)
    return {"status": "measured", **data}
