"""One webcam session that can only go through a TURN relay, run inside a network namespace with
loopback alone (tests/test_turn_relay.py starts it under `unshare --net`):

    python -m tests.helpers.relay_scenario --models DIR --out result.json [--expired]

coturn (Debian's `turnserver`) starts from the shipped deploy/turnserver.conf (shared secret,
private and special ranges denied) on 127.0.0.1, with loopback allowed as a peer the way the
compose file allows the app's own network. The app runs under `streamlit run` with
FER_TURN_SECRET (per-session, time-limited credentials) and FER_ICE_POLICY=relay; headless
Chromium opens the Live webcam page with a fake camera. With `--expired` the app instead hands
out a REST credential that expired an hour ago (static FER_TURN_USERNAME/FER_TURN_CREDENTIAL).

Writes {"processed": bool, "coturn": {...counts of log lines...}, "log_tail": ...} to --out."""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import time
from pathlib import Path

from bench.browser import WebcamPage, camera_canvas, launch, write_y4m
from fer_core.ice import turn_rest_credentials
from tests.helpers.streamlit_server import ROOT, free_port, running, streamlit_command, streamlit_env, wait_healthy

TURN_PORT = 3478
RELAY_PORTS = (49160, 49400)  # deploy/turnserver.conf's range


def start_coturn(secret: str, log: Path) -> subprocess.Popen:
    conf = ROOT / "deploy" / "turnserver.conf"
    with open(log, "w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([
            "turnserver", "-c", str(conf), f"--static-auth-secret={secret}", "--realm=fer.test",
            "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={TURN_PORT}",
            "--allow-loopback-peers", "--allowed-peer-ip=127.0.0.1",  # the app's "network" here
            "--no-tls", "--no-dtls", "--log-file=stdout", "--simple-log", "--verbose",
        ], stdout=out, stderr=subprocess.STDOUT)


def coturn_counts(text: str) -> dict[str, int]:
    lower = text.lower()
    return {
        "allocations_ok": lower.count("allocate processed, success"),
        "unauthorized_401": lower.count("401"),
        "forbidden_403": lower.count("403"),
        "peer_channels": lower.count("channel bind processed, success") + lower.count("create permission processed, success"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--expired", action="store_true")
    parser.add_argument("--wait", type=float, default=90.0, help="seconds to wait for a processed frame")
    args = parser.parse_args(argv)
    work = args.out.parent
    secret = secrets.token_hex(16)
    turn_url = f"turn:127.0.0.1:{TURN_PORT}?transport=udp"
    env = {"FER_MODELS_DIR": str(args.models), "FER_STUN_URLS": "none", "FER_TURN_URL": turn_url,
           "FER_ICE_POLICY": "relay"}
    if args.expired:
        username, password = turn_rest_credentials(secret, "visitor", int(time.time()) - 3600)
        env.update({"FER_TURN_USERNAME": username, "FER_TURN_CREDENTIAL": password})
    else:
        env["FER_TURN_SECRET"] = secret

    from skimage import data

    canvas = camera_canvas(data.astronaut())
    video = work / "camera.y4m"
    write_y4m(video, [canvas] * 10)
    coturn_log = work / "coturn.log"
    coturn = start_coturn(secret, coturn_log)
    processed = False
    try:
        port = free_port()
        log = work / "streamlit.log"
        with running(streamlit_command(port), port, log, streamlit_env(env)) as server:
            wait_healthy(server, port, log)
            from playwright.sync_api import sync_playwright

            with sync_playwright() as pw:
                browser = launch(pw, video, "--allow-loopback-in-peer-connection")
                try:
                    visitor = WebcamPage(browser, f"http://127.0.0.1:{port}/Live_webcam", canvas)
                    visitor.start()
                    try:
                        processed = visitor.wait_processed(args.wait) is not None
                    except Exception:  # no video element ever appeared: nothing connected
                        processed = False
                finally:
                    browser.close()
    finally:
        coturn.terminate()
        coturn.wait(10)
    text = coturn_log.read_text(errors="replace")
    args.out.write_text(json.dumps({"processed": processed, "coturn": coturn_counts(text),
                                    "log_tail": text[-4000:]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
