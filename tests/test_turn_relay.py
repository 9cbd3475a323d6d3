"""The live webcam through a real TURN relay only: coturn from the shipped deploy/turnserver.conf,
the app with time-limited credentials (FER_TURN_SECRET) and FER_ICE_POLICY=relay, headless
Chromium, all inside a network namespace that has nothing but loopback (`unshare --net`), so the
browser's only way to the server is the relay (tests/helpers/relay_scenario.py).

Valid credentials: coturn allocates a relay and the returned video carries our overlay. A REST
credential that expired an hour ago: coturn refuses it (401) and no frame is ever processed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from bench.browser import find_chromium
from tests.helpers.streamlit_server import ROOT, streamlit_env

pytestmark = [
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium (apt-get install chromium fonts-dejavu-core)"),
    pytest.mark.skipif(shutil.which("turnserver") is None, reason="no coturn (apt-get install coturn)"),
    pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("ip") is None,
                       reason="needs unshare (util-linux) and ip (iproute2)"),
]


def run_scenario(models, tmp_path, *extra: str) -> dict:
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (see requirements-dev)")
    out = tmp_path / "result.json"
    user_ns = [] if os.geteuid() == 0 else ["--map-root-user"]
    inner = (f"ip link set lo up && exec {sys.executable} -m tests.helpers.relay_scenario "
             f"--models {models} --out {out} " + " ".join(extra))
    done = subprocess.run(["unshare", "--net", *user_ns, "--", "sh", "-c", inner], cwd=ROOT,
                          env=streamlit_env(), capture_output=True, text=True, timeout=400)
    assert done.returncode == 0 and out.exists(), f"scenario failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(out.read_text())


def test_time_limited_credentials_carry_the_stream_through_the_relay(tiny_models_dir, tmp_path):
    result = run_scenario(tiny_models_dir, tmp_path)
    assert result["coturn"]["allocations_ok"] >= 1, result["log_tail"]
    assert result["processed"], f"no processed frame came back through the relay:\n{result['log_tail']}"


def test_expired_credentials_get_no_relay_and_no_frames(tiny_models_dir, tmp_path):
    result = run_scenario(tiny_models_dir, tmp_path, "--expired", "--wait", "30")
    assert result["coturn"]["allocations_ok"] == 0 and result["coturn"]["unauthorized_401"] >= 1, result["log_tail"]
    assert not result["processed"]
