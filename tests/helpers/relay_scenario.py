"""One webcam session that can only go through a TURN relay, run inside a network namespace with
loopback alone (tests/test_turn_relay.py starts it under `unshare --net`):

    python -m tests.helpers.relay_scenario --models DIR --out result.json

coturn (Debian's `turnserver`) starts from the shipped deploy/turnserver.conf (shared secret,
private and special ranges denied) on 127.0.0.1, with loopback allowed as a peer the way the
compose file allows the app's own network. The app runs under `streamlit run` with
FER_TURN_SECRET (per-session, time-limited credentials) and FER_ICE_POLICY=relay; headless
Chromium opens the Live webcam page with a fake camera. Two phases against the same coturn, one
after the other: "valid" (the app mints credentials from FER_TURN_SECRET) and "expired" (the
app hands out a REST credential that expired an hour ago, as static FER_TURN_USERNAME /
FER_TURN_CREDENTIAL), so both outcomes are read from the same relay's log the same way.

Writes {PHASE: {"processed": bool, "coturn": {...counts of its log lines...}, "log": ...}} to --out.
coturn answers every first request with a 401 challenge (to an empty user, `user <>`): only a
401 to a request that carried a username (`refused`) means a credential was refused."""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import time
from pathlib import Path

from fer_core.live.ice import turn_rest_credentials
from tests.helpers.browser import WebcamPage, camera_canvas, launch, write_y4m
from tests.helpers.streamlit_server import ROOT, free_port, running, streamlit_command, streamlit_env, wait_healthy

TURN_PORT = 3478
RELAY_PORTS = (49160, 49400)  # deploy/turnserver.conf's range
PHASES = ("valid", "expired")


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
    lines = text.lower().splitlines()
    unauthorized = [line for line in lines if "error 401" in line]
    return {
        "allocations_ok": sum("allocate processed, success" in line for line in lines),
        "challenges": sum("user <>" in line for line in unauthorized),  # the normal first exchange
        "refused": sum("user <>" not in line for line in unauthorized),  # a credential was refused
        "peer_channels": sum("channel_bind processed, success" in line or "create_permission processed, success" in line
                             for line in lines),
    }


def phase_env(phase: str, models: Path, secret: str) -> dict[str, str]:
    env = {"FER_MODELS_DIR": str(models), "FER_STUN_URLS": "none",
           "FER_TURN_URL": f"turn:127.0.0.1:{TURN_PORT}?transport=udp", "FER_ICE_POLICY": "relay"}
    if phase == "expired":
        username, password = turn_rest_credentials(secret, "visitor", int(time.time()) - 3600)
        env.update({"FER_TURN_USERNAME": username, "FER_TURN_CREDENTIAL": password})
    else:
        env["FER_TURN_SECRET"] = secret
    return env


def run_phase(phase: str, args: argparse.Namespace, secret: str, video: Path, canvas: object) -> bool:
    """One visitor through the relay; True when a frame came back analysed (overlay_drawn)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    port = free_port()
    log = args.out.parent / f"streamlit_{phase}.log"
    with running(streamlit_command(port), port, log, streamlit_env(phase_env(phase, args.models, secret))) as server:
        wait_healthy(server, port, log)
        with sync_playwright() as pw:
            browser = launch(pw, video, "--allow-loopback-in-peer-connection")
            try:
                visitor = WebcamPage(browser, f"http://127.0.0.1:{port}/Live_webcam", canvas)
                visitor.start()
                try:
                    return visitor.wait_processed(args.wait if phase == "valid" else args.wait_refused) is not None
                except PlaywrightTimeout:  # no video element ever appeared: nothing connected
                    return False
            finally:
                browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--wait", type=float, default=90.0, help="seconds to wait for a processed frame")
    parser.add_argument("--wait-refused", type=float, default=30.0,
                        help="seconds the expired phase is given to (wrongly) get a frame through")
    args = parser.parse_args(argv)
    secret = secrets.token_hex(16)
    from skimage import data

    canvas = camera_canvas(data.astronaut())
    video = args.out.parent / "camera.y4m"
    write_y4m(video, [canvas] * 10)
    coturn_log = args.out.parent / "coturn.log"
    coturn = start_coturn(secret, coturn_log)
    result: dict[str, dict[str, object]] = {}
    try:
        for phase in PHASES:
            start = len(coturn_log.read_text(errors="replace"))
            processed = run_phase(phase, args, secret, video, canvas)
            time.sleep(1.0)  # let coturn write the phase's last lines (tail only: counts are not timed)
            text = coturn_log.read_text(errors="replace")[start:]
            result[phase] = {"processed": processed, "coturn": coturn_counts(text), "log": text[-4000:]}
    finally:
        coturn.terminate()
        coturn.wait(10)
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
