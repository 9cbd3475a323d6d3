"""The app in an app-only install, as the container has it: the environment built by the
Dockerfile's own RUN lines (deploy/build_app_env.py: `requirements.txt` alone, no Keras,
TensorFlow, test tools or pip, test suites removed, byte-code only for the server's imports; then
fer_core installed editable with the Dockerfile's command), the app started with the
Dockerfile's command and environment, and a real page used in headless Chromium: a photo
uploaded on the Photo page comes back analysed. (The health endpoint alone, which
tests/test_container_start.py checks, answers before any page has run.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from tests.helpers.browser import find_chromium, launch, upload_photo
from tests.helpers.streamlit_server import ROOT, free_port, running, wait_healthy
from tests.test_container_start import container_env, dockerfile_instruction, dockerfile_instructions

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium (apt-get install chromium fonts-dejavu-core)")


@pytest.fixture(scope="module")
def app_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Dockerfile's two install steps, with its paths mapped to this machine's: /build/ holds
    the copied repository files, /opt/venv the environment, `python`/`pip` the base image's."""
    env_dir = tmp_path_factory.mktemp("app_only") / "venv"
    runs = dockerfile_instructions("RUN")
    build = next(r for r in runs if "build_app_env.py" in r)
    install_self = next(r for r in runs if "-e ." in r).split("&&")[0].strip()

    def mapped(command: str) -> str:
        command = re.sub(r"^python ", f"{sys.executable} ", command)
        command = re.sub(r"^pip ", f"{sys.executable} -m pip ", command)
        command = command.replace("/build/build_app_env.py", str(ROOT / "deploy" / "build_app_env.py"))
        return command.replace("/build/requirements.txt", str(ROOT / "requirements.txt")).replace("/opt/venv", str(env_dir))

    for command in (build, install_self):
        done = subprocess.run(mapped(command), shell=True, cwd=ROOT, capture_output=True, text=True, timeout=1500)
        assert done.returncode == 0, f"{mapped(command)}: {done.stderr[-3000:]}"
    return env_dir


def test_the_photo_page_works_in_an_app_only_install(app_venv: Path, astronaut, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (see requirements-dev)")
    python = str(app_venv / "bin" / "python")
    missing = subprocess.run([python, "-c", "import importlib.util as u; print([m for m in ('keras', 'tensorflow', "
                              "'pytest', 'pip', 'setuptools', 'pandas.tests') if u.find_spec(m)])"], capture_output=True, text=True)
    assert missing.stdout.strip() == "[]", f"the app install carries training, test or build packages: {missing.stdout}"
    assert subprocess.run([str(app_venv / "bin" / "fer-core"), "--version"], capture_output=True).returncode == 0

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
