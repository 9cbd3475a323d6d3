"""Long sessions: one live stream for many minutes, then many sessions opened and closed in turn.

    python -m bench.capacity.soak [--minutes 30] [--sessions 50] [--sample-seconds 60]

One `streamlit run app.py` server with the shipped default model and headless Chromium with a
fake camera (see bench.capacity.load). Phase 1: one visitor streams for `--minutes`; every
`--sample-seconds` the server's resident memory, threads and open files are read, with the
stream's analysed FPS (the page's panel) and the frames the browser received. Phase 2:
`--sessions` visitors, one after another, each opens the Live page, starts the camera, waits for
the first processed frame, stops and leaves (its browser context closed); the same figures after
each. Then the server is left alone past Streamlit's `server.disconnectedSessionTTL` (sessions
without a browser are kept that long for a reconnect) and read once more. Last, the server is
asked (bench/capacity/soak_probe, loaded into its process for this benchmark only) how many objects of a
session's kinds are still alive, and how much of its resident memory glibc gives back when asked
(malloc_trim): memory still resident but held by no object is the allocator's, not a leak.

Reported: growth per hour of memory, threads and open files over phase 1 (least-squares slope
after the first sample, which still includes start-up), growth per session over phase 2, and
what is left once the last session expired. Writes bench/results/soak.json and soak.md (README
section `soak`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from bench.capacity.load import CAMERA_FPS, camera_frames, cpu_s, machine_busy_s
from bench.common.results import write_report
from tests.helpers.browser import STREAM_TIMEOUT_S, WebcamPage, find_chromium, launch, write_y4m
from tests.helpers.streamlit_server import ROOT, free_port, running, streamlit_command, streamlit_env, wait_healthy

RESULTS = ROOT / "bench" / "results"
SESSION_TTL_S = 120  # streamlit's server.disconnectedSessionTTL default (.streamlit/config.toml keeps it)
EXPIRY_MARGIN_S = 30  # Streamlit checks for expired sessions now and then, not at once
PROBE_DIR = Path(__file__).resolve().parent / "soak_probe"  # its sitecustomize answers SIGUSR1 inside the server
PROBE_TIMEOUT_S = 60.0


def server_sample(server: psutil.Process, t0: float, **extra: Any) -> dict[str, Any]:
    return {"t_s": time.monotonic() - t0, "rss_mib": server.memory_info().rss / 2**20,
            "threads": server.num_threads(), "open_files": server.num_fds(), **extra}


def ask_probe(server: psutil.Process, out: Path, timeout_s: float = PROBE_TIMEOUT_S) -> dict[str, Any] | None:
    """Signal the server's probe and read its answer (None if it never came)."""
    out.unlink(missing_ok=True)
    server.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if out.is_file():
            return dict(json.loads(out.read_text()))
        time.sleep(0.5)
    return None


SESSION_KINDS = ("LiveProcessor", "WebRtcWorker", "RTCPeerConnection")  # what a webcam session holds


def released(probe: dict[str, Any] | None) -> bool:
    """Did the probe see no live object of a webcam session?"""
    held = (probe or {}).get("objects", {})
    return bool(probe) and all(held.get(kind, 0) == 0 for kind in SESSION_KINDS)


def wait_released(server: psutil.Process, out: Path, bound_s: float) -> dict[str, Any] | None:
    """Ask the probe until the sessions' objects are gone or `bound_s` passed; the last answer."""
    deadline = time.monotonic() + bound_s
    probe = ask_probe(server, out)
    while not released(probe) and time.monotonic() < deadline:
        time.sleep(1.0)
        probe = ask_probe(server, out)
    return probe


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope; 0 when fewer than two points."""
    if len(xs) < 2:
        return 0.0
    return float(np.polyfit(np.asarray(xs, float), np.asarray(ys, float), 1)[0])


def stream_phase(browser: Any, url: str, reference: np.ndarray, server: psutil.Process, minutes: float,
                 every_s: float) -> list[dict[str, Any]]:
    visitor = WebcamPage(browser, url, reference)
    samples: list[dict[str, Any]] = []
    try:
        visitor.start()
        if visitor.wait_processed(STREAM_TIMEOUT_S) is None:
            raise RuntimeError("the stream never returned a processed frame")
        t0 = time.monotonic()
        busy0, server0 = machine_busy_s(), cpu_s(server)
        while True:
            panel = visitor.panel()
            t = time.monotonic() - t0
            samples.append(server_sample(server, t0, frames_shown=visitor.frames_shown(),
                                         analysed_fps=None if panel is None else panel.fps,
                                         server_cores=(cpu_s(server) - server0) / max(t, 1e-9),
                                         machine_cores=(machine_busy_s() - busy0) / max(t, 1e-9)))
            print(json.dumps(samples[-1]), file=sys.stderr, flush=True)
            if samples[-1]["t_s"] >= minutes * 60:
                break
            time.sleep(max(0.0, min(every_s, minutes * 60 - (time.monotonic() - t0))))
        visitor.stop()
    finally:
        visitor.close()
    return samples


def sessions_phase(browser: Any, url: str, reference: np.ndarray, server: psutil.Process,
                   sessions: int) -> list[dict[str, Any]]:
    samples = []
    t0 = time.monotonic()
    for i in range(sessions):
        visitor = WebcamPage(browser, url, reference)
        try:
            visitor.start()
            ok = visitor.wait_processed(STREAM_TIMEOUT_S) is not None
            visitor.stop()
        finally:
            visitor.close()
        samples.append(server_sample(server, t0, session=i + 1, processed=ok))
        print(json.dumps(samples[-1]), file=sys.stderr, flush=True)
    return samples


def summarise(stream: list[dict[str, Any]], sessions: list[dict[str, Any]], expired: dict[str, Any],
              start: dict[str, Any]) -> dict[str, Any]:
    later = stream[1:] if len(stream) > 2 else stream
    hours = [s["t_s"] / 3600 for s in later]
    n = [s["session"] for s in sessions]
    frames = [s["frames_shown"] for s in stream]
    received_fps = (frames[-1] - frames[0]) / max(1e-9, stream[-1]["t_s"] - stream[0]["t_s"])
    # like the growth, after the first sample: taken as the first processed frame arrived, its panel
    # has not counted a full second yet
    fps = [s["analysed_fps"] for s in later if s["analysed_fps"] is not None]
    return {
        "stream_minutes": stream[-1]["t_s"] / 60,
        "stream_received_fps": received_fps,
        "stream_analysed_fps_min": min(fps) if fps else 0.0,
        "stream_analysed_fps_median": float(np.median(fps)) if fps else 0.0,
        **{f"{k}_per_hour": slope(hours, [s[k] for s in later]) for k in ("rss_mib", "threads", "open_files")},
        "sessions": len(sessions),
        "sessions_processed": sum(s["processed"] for s in sessions),
        **{f"{k}_per_session": slope(n, [s[k] for s in sessions]) for k in ("rss_mib", "threads", "open_files")},
        "at_start": start,
        "after_stream": stream[-1],
        "after_sessions": sessions[-1] if sessions else None,
        "after_expiry": expired,
    }


# settings of the server's environment that change its memory figures, recorded with the results
MEMORY_ENV = ("MALLOC_ARENA_MAX",)


def _env_prefix(report: dict[str, Any]) -> str:
    return "".join(f"{k}={v} " for k, v in sorted(report.get("environment", {}).items()))


def markdown(report: dict[str, Any]) -> str:
    s = report["summary"]

    def row(label: str, x: dict[str, Any] | None) -> str:
        return "" if x is None else f"| {label} | {x['rss_mib']:.0f} MiB | {x['threads']} | {x['open_files']} |"

    lines = [
        f"One stream for {s['stream_minutes']:.0f} minutes, sampled every {report['sample_seconds']:.0f} s: the "
        f"browser received {s['stream_received_fps']:.1f} FPS on average, the server analysed "
        f"{s['stream_analysed_fps_median']:.1f} FPS (median sample; lowest {s['stream_analysed_fps_min']:.1f}) using "
        f"{s['after_stream']['server_cores']:.2f} cores, while the whole machine (browser and anything else "
        f"running) used {s['after_stream']['machine_cores']:.2f} of its {report['machine']['cpus']}. Growth per hour (least-squares, after the first "
        f"sample): memory {s['rss_mib_per_hour']:+.1f} MiB, threads {s['threads_per_hour']:+.1f}, open files "
        f"{s['open_files_per_hour']:+.1f}.",
        "",
        f"{s['sessions']} sessions opened and closed in turn ({s['sessions_processed']} got processed video): "
        f"per session memory {s['rss_mib_per_session']:+.2f} MiB, threads {s['threads_per_session']:+.2f}, open "
        f"files {s['open_files_per_session']:+.2f}, until Streamlit drops sessions that have been without a "
        f"browser for {report.get('session_ttl_s', SESSION_TTL_S)} s:",
        "",
        "| server process | resident memory | threads | open files |",
        "|---|---|---|---|",
        row("server started, page not yet opened", s["at_start"]),
        row(f"after {s['stream_minutes']:.0f} min of streaming", s["after_stream"]),
        row(f"after {s['sessions']} sessions", s["after_sessions"]),
        row(f"{report.get('session_ttl_s', SESSION_TTL_S) + EXPIRY_MARGIN_S} s later (sessions expired)", s["after_expiry"]),
        *_probe_lines(report.get("probe")),
        "",
        f"`{_env_prefix(report)}python -m bench.capacity.soak --minutes {report['minutes']:g} --sessions {report['sessions']}`, model "
        f"`{report['model']}`{' with flip TTA' if report.get('flip_tta') else ''}, {report['machine']['processor']}, {report['machine']['cpus']} CPUs, {report['date']}.",
    ]
    return "\n".join(line for line in lines if line is not None)


def _probe_lines(probe: dict[str, Any] | None) -> list[str]:
    if probe is None:
        return ["", "The server's probe (bench/capacity/soak_probe) did not answer: what holds the memory is unknown."]
    held = ", ".join(f"{k} {v}" for k, v in probe["objects"].items())
    kept = [s for s in probe.get("sessions", []) if s["state"] == "SHUTDOWN_REQUESTED"]
    if kept:
        held += (f" (Streamlit still refers to {len(kept)} shut-down session(s), holding "
                 f"{sum(s['session_state_items'] for s in kept)} session-state items)")
    freed = probe["rss_mib_before_trim"] - probe["rss_mib_after_trim"]
    return ["", f"Then, inside the server (bench/capacity/soak_probe): live objects of a session's kinds: {held}. Asked to "
            f"return its free pages (glibc `malloc_trim(0)`{'' if probe['malloc_trim'] else ', which had nothing to return'}), "
            f"the allocator gave back {freed:.0f} MiB: resident memory {probe['rss_mib_before_trim']:.0f} -> "
            f"{probe['rss_mib_after_trim']:.0f} MiB."]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the single stream (default 30)")
    parser.add_argument("--sessions", type=int, default=50, help="sessions opened and closed in turn (default 50)")
    parser.add_argument("--sample-seconds", type=float, default=60.0, help="sampling interval (default 60)")
    parser.add_argument("--session-ttl", type=int, default=SESSION_TTL_S,
                        help="server.disconnectedSessionTTL for the server, in s (default Streamlit's 120)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for soak.json and soak.md")
    parser.add_argument("--render", action="store_true", help="only rewrite soak.md from the stored soak.json")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        report = json.loads((args.out / "soak.json").read_text())
        s = report["summary"]
        report["summary"] = summarise(report["stream"], report["session_samples"], s["after_expiry"], s["at_start"])
        (args.out / "soak.md").write_text(markdown(report) + "\n")
        return 0
    if find_chromium() is None:
        print("bench.capacity.soak needs Chromium: apt-get install chromium fonts-dejavu-core", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    from fer_core.model_zoo import default_flip_tta, default_model_name

    with tempfile.TemporaryDirectory(prefix="fer-soak-") as tmp:
        frames = camera_frames()
        video = Path(tmp) / "camera.y4m"
        write_y4m(video, frames, fps=CAMERA_FPS)
        port = free_port()
        log = Path(tmp) / "streamlit.log"
        url = f"http://127.0.0.1:{port}/Live_webcam"
        probe_out = Path(tmp) / "probe.json"
        env = streamlit_env({"FER_STUN_URLS": "none", "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(args.session_ttl),
                             "FER_SOAK_PROBE_OUT": str(probe_out)})
        env["PYTHONPATH"] = os.pathsep.join([str(PROBE_DIR), env["PYTHONPATH"]])
        with running(streamlit_command(port), port, log, env) as proc:
            wait_healthy(proc, port, log)
            server = psutil.Process(proc.pid)
            start = server_sample(server, time.monotonic())
            with sync_playwright() as pw:
                browser = launch(pw, video)
                try:
                    stream = stream_phase(browser, url, frames[0], server, args.minutes, args.sample_seconds)
                    sessions = sessions_phase(browser, url, frames[0], server, args.sessions)
                finally:
                    browser.close()
            # wait for the state, not for a time: the sessions count as expired once the probe sees
            # none of their objects alive (at most the TTL plus Streamlit's check interval)
            probe = wait_released(server, probe_out, args.session_ttl + EXPIRY_MARGIN_S)
            expired = server_sample(server, time.monotonic())
    report = {
        "model": default_model_name(), "flip_tta": default_flip_tta(), "date": time.strftime("%Y-%m-%d"), "minutes": args.minutes,
        "sessions": args.sessions, "sample_seconds": args.sample_seconds, "session_ttl_s": args.session_ttl,
        "environment": {k: os.environ[k] for k in MEMORY_ENV if k in os.environ},
        "machine": {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
        "stream": stream, "session_samples": sessions,
        "summary": summarise(stream, sessions, expired, start), "probe": probe,
    }
    write_report(args.out, "soak", report, markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
