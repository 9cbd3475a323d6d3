"""The app in an app-only install, as the container and a Procfile platform have it: a new
virtual environment with `requirements.txt` alone (no Keras, TensorFlow, test tools), the app
started with the Dockerfile's command and environment, and a real page used in headless
Chromium: a photo uploaded on the Photo page comes back analysed. (The health endpoint alone,
which tests/test_container_start.py checks, answers before any page has run.)"""

from __future__ import annotations

import re
import subprocess
import venv
from pathlib import Path

import cv2
import pytest

from bench.browser import find_chromium, launch, upload_photo
from tests.helpers.streamlit_server import ROOT, free_port, running, wait_healthy
from tests.test_container_start import container_env, dockerfile_instruction

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium (apt-get install chromium fonts-dejavu-core)")


@pytest.fixture(scope="module")
def app_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env_dir = tmp_path_factory.mktemp("app_only") / "venv"
    venv.create(env_dir, with_pip=True)
    done = subprocess.run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", "-r", "requirements.txt"],
                          cwd=ROOT, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    return env_dir


def test_the_photo_page_works_in_an_app_only_install(app_venv: Path, astronaut, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (see requirements-dev)")
    python = str(app_venv / "bin" / "python")
    missing = subprocess.run([python, "-c", "import importlib.util as u; print([m for m in ('keras', 'tensorflow', "
                              "'pytest') if u.find_spec(m)])"], capture_output=True, text=True)
    assert missing.stdout.strip() == "[]", f"the app install carries training or test packages: {missing.stdout}"

    port = free_port()
    env = container_env(port)
    env["PATH"] = f"{app_venv / 'bin'}:{env['PATH']}"  # the app venv's streamlit, as on an image's PATH
    command = dockerfile_instruction("CMD")
    assert command.startswith("exec streamlit run app.py"), command
    photo = tmp_path / "visitor.png"
    cv2.imwrite(str(photo), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    log = tmp_path / "server.log"
    with running(["sh", "-c", command], port, log, env) as server:
        wait_healthy(server, port, log)
        with sync_api.sync_playwright() as pw:
            browser = launch(pw)
            try:
                text = upload_photo(browser.new_page(), f"http://127.0.0.1:{port}", photo)
            finally:
                browser.close()
    assert re.search(r"visitor\.png: 1 face\b", text), text[-2000:]
    assert "could not be analysed" not in text and "Cannot start" not in text, text[-2000:]
