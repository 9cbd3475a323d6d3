"""The live webcam through a real TURN relay only: coturn from the shipped deploy/turnserver.conf,
the app with time-limited credentials (FER_TURN_SECRET) and FER_ICE_POLICY=relay, headless
Chromium, all inside a network namespace that has nothing but loopback (`unshare --net`), so the
browser's only way to the server is the relay (tests/helpers/relay_scenario.py).

Valid credentials: coturn allocates a relay and the returned video carries our overlay. A REST
credential that expired an hour ago, against the same coturn: refused (a 401 to the request that
carried it, not the challenge every client gets first) and no frame is ever processed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers.browser import find_chromium
from tests.helpers.streamlit_server import ROOT, streamlit_env

pytestmark = [
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium (apt-get install chromium fonts-dejavu-core)"),
    pytest.mark.skipif(shutil.which("turnserver") is None, reason="no coturn (apt-get install coturn)"),
    pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("ip") is None,
                       reason="needs unshare (util-linux) and ip (iproute2)"),
]


def run_scenario(models, tmp_path) -> dict:
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (see requirements-dev)")
    out = tmp_path / "result.json"
    user_ns = [] if os.geteuid() == 0 else ["--map-root-user"]
    inner = (f"ip link set lo up && exec {sys.executable} -m tests.helpers.relay_scenario "
             f"--models {models} --out {out}")
    done = subprocess.run(["unshare", "--net", *user_ns, "--", "sh", "-c", inner], cwd=ROOT,
                          env=streamlit_env(), capture_output=True, text=True, timeout=400)
    assert done.returncode == 0 and out.exists(), f"scenario failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def relay_result(tiny_models_dir, tmp_path_factory) -> dict:
    return run_scenario(tiny_models_dir, tmp_path_factory.mktemp("relay"))


def test_time_limited_credentials_carry_the_stream_through_the_relay(relay_result):
    valid = relay_result["valid"]
    assert valid["coturn"]["allocations_ok"] >= 1 and valid["coturn"]["refused"] == 0, valid["log"]
    assert valid["coturn"]["peer_channels"] >= 1, valid["log"]  # media flowed to the app through the relay
    assert valid["processed"], f"no analysed frame came back through the relay:\n{valid['log']}"


def test_expired_credentials_get_no_relay_and_no_frames(relay_result):
    expired = relay_result["expired"]
    # refused as a credential (a 401 to a request that carried the username), not just challenged
    assert expired["coturn"]["refused"] >= 1 and expired["coturn"]["allocations_ok"] == 0, expired["log"]
    assert not expired["processed"]
    # the same relay, read the same way, did allocate for the valid phase: the check can tell them apart
    assert relay_result["valid"]["coturn"]["allocations_ok"] >= 1


def test_the_log_counts_tell_a_challenge_from_a_refusal():
    from tests.helpers.relay_scenario import coturn_counts

    log = ("session 1: realm <fer.test> user <>: incoming packet message processed, error 401: Unauthorized\n"
           "session 1: realm <fer.test> user <1:v>: incoming packet ALLOCATE processed, success\n"
           "session 1: realm <fer.test> user <1:v>: incoming packet CHANNEL_BIND processed, success\n"
           "session 2: realm <fer.test> user <9:v>: incoming packet message processed, error 401: Unauthorized\n")
    counts = coturn_counts(log)
    assert (counts["challenges"], counts["refused"], counts["allocations_ok"], counts["peer_channels"]) == (1, 1, 1, 1)
