"""Concurrent live webcams against one `streamlit run` server, through real WebRTC.

    python -m bench.capacity.load [--streams 1 2 4 8] [--seconds 30] [--clients browser|aiortc]

One `streamlit run app.py` server with the shipped default model. For each level N, N visitors
open the Live webcam page, each its own Streamlit session and peer connection; the fake camera
plays a 640x480, 30 FPS video of a moving face. Visitors are headless Chromium browsers (one
per visitor, as in real life: a headless browser throttles all but its front page, which would
starve the other visitors' cameras), or with `--clients aiortc` bench.capacity.rtc_visitor's clients,
which speak the page's own Streamlit and WebRTC signalling without a browser and send a camera
encoded once up front: a browser costs about as much CPU as the stream it loads the server with,
so on a small machine the browsers run out of CPU before the server does. The visitors start one
after another, each under the load of those already running, and each is timed from pressing
Start to the first returned frame our callback drew into (time to first processed frame). Then,
over a window of `--seconds`, every second and per stream:

* analysed FPS, latency and skipped share as the page's own live panel shows them (the
  server-side LiveProcessor's figures: frames analysed per second, analysis latency, share of
  camera frames skipped because the previous one was still being analysed);
* frames the visitor received (a browser's `getVideoPlaybackQuality`, an aiortc client's
  decoded frames): the video must keep coming (frame skipping, never a stall); the longest gap
  between new frames is reported.

Per level, for the server process: CPU (in cores) over the window, resident memory and threads
at its end, and again after the visitors left. The clients run on the same machine, so their CPU
is measured too: on a machine that also hosts the clients, the figures are a lower bound for a
dedicated server.

The server runs without its stream limit (FER_MAX_STREAMS=0): the limit's default is what this
benchmark finds. Writes bench/results/load.json and load.md (docs section `load`), including the
sizing rule that follows: the most streams one server held with every stream connected, none
stalled and all at >= 10 analysed FPS (and at >= 15), and the server's cores per stream there.
A run with `--clients aiortc` into the default folder also writes that rule into
fer_core/live/sizing.json, where FER_MAX_STREAMS' default is read from (fer_core.live.capacity).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from bench.capacity.rtc_visitor import ClientLoop, RtcVisitor, ServerFull, encode_vp8
from bench.common.frames import moving_sequence
from bench.common.results import write_report
from tests.helpers.browser import STREAM_TIMEOUT_S, WebcamPage, camera_canvas, find_chromium, launch, write_y4m
from tests.helpers.streamlit_server import ROOT, free_port, running, streamlit_command, streamlit_env, wait_healthy

RESULTS = ROOT / "bench" / "results"
TARGET_FPS = 10.0  # the sizing rule's bar: every stream at >= 10 analysed FPS
HIGH_FPS = 15.0  # the rule again at a smoother bar
SIZING_FILE = ROOT / "fer_core" / "live" / "sizing.json"  # FER_MAX_STREAMS' default (fer_core.live.capacity)
CAMERA_FPS = 30
WARMUP_S = 5.0  # after the last visitor's first frame, before the window opens
SETTLE_S = 10.0  # after the visitors leave, before memory is read again
STALL_S = 2.0  # a stream with no new frame for this long has stalled


def camera_frames(width: int = 640, height: int = 480) -> list[np.ndarray]:
    """A second of a face moving a little (scikit-image's astronaut, centred on grey)."""
    from skimage import data

    return moving_sequence(camera_canvas(data.astronaut(), width, height), length=CAMERA_FPS, radius=8)


def chromium_cpu_s() -> float:
    """CPU seconds used so far by every Chromium process on the machine (the load's clients)."""
    total = 0.0
    for p in psutil.process_iter(["name", "cpu_times"]):
        name = (p.info["name"] or "").lower()
        if ("chrom" in name or "headless" in name) and p.info["cpu_times"] is not None:
            total += p.info["cpu_times"].user + p.info["cpu_times"].system
    return total


def cpu_s(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def machine_busy_s() -> float:
    t = psutil.cpu_times()
    return t.user + t.system + t.nice + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


def longest_gap_s(samples: list[tuple[float, int | None]]) -> float:
    """Longest time without a new frame between samples (resolution ~1 s); a sample without a
    video element counts as no new frame."""
    gap, last_new, best = 0.0, samples[0][0], samples[0][1] or 0
    for t, shown in samples[1:]:
        if shown is not None and shown > best:
            last_new, best = t, shown
        gap = max(gap, t - last_new)
    return gap


def kept_coming(samples: list[tuple[float, int | None]]) -> bool:
    """Did new frames arrive in each half of the window (by sample order, not by the clock)?
    What a test may ask of a stream on a busy machine: video still arrives, however slowly."""
    counted = [n for _, n in samples if n is not None]
    if len(counted) < 3:
        return False
    mid = len(counted) // 2
    return counted[mid] > counted[0] and counted[-1] > counted[mid]


def received_fps(samples: list[tuple[float, int | None]]) -> float | None:
    """Frames shown per second between the first and last samples that could read the video
    element; None when fewer than two could (the page did not answer in time)."""
    counted = [(t, n) for t, n in samples if n is not None]
    if len(counted) < 2:
        return None
    return (counted[-1][1] - counted[0][1]) / max(1e-9, counted[-1][0] - counted[0][0])


class BrowserClients:
    """Visitors as headless Chromium browsers, one per visitor, with a fake camera file."""

    name, label = "browser", "browsers'"

    def __init__(self, pw: Any, video: Path) -> None:
        self.pw, self.video, self.browsers = pw, video, []  # type: ignore[var-annotated]

    def visitor(self, url: str, reference: np.ndarray) -> WebcamPage:
        self.browsers.append(launch(self.pw, self.video))
        return WebcamPage(self.browsers[-1], url, reference)

    def cpu_s(self) -> float:
        return chromium_cpu_s()

    def leave(self) -> None:
        for browser in self.browsers:
            browser.close()
        self.browsers.clear()


class RtcClients:
    """Visitors as aiortc clients (bench.capacity.rtc_visitor), all on one event loop in this process."""

    name, label = "aiortc", "clients'"

    def __init__(self, frames: list[np.ndarray]) -> None:
        from fer_core.live.capacity import DEFAULT_REDUCED_SIZE, FULL_FPS, FULL_SIZE, REDUCED_FPS

        self.loop, self.me = ClientLoop(), psutil.Process()
        # the camera at every rate and size the page may ask for (fer_core.live.capacity)
        self.references: dict[tuple[int, int], np.ndarray] = {}
        self.cameras: dict[tuple[int, int, int], list[bytes]] = {}
        for width, height in {FULL_SIZE, DEFAULT_REDUCED_SIZE}:
            sized = frames if (width, height) == FULL_SIZE else camera_frames(width, height)
            self.references[(width, height)] = sized[0]
            for fps in (FULL_FPS, REDUCED_FPS):
                self.cameras[(fps, width, height)] = encode_vp8(sized[:: max(1, FULL_FPS // fps)], fps)

    def visitor(self, url: str, reference: np.ndarray) -> RtcVisitor:
        return RtcVisitor(self.loop, url.rsplit("/", 1)[0], self.references, self.cameras)

    def cpu_s(self) -> float:
        return cpu_s(self.me)

    def leave(self) -> None:
        pass


def run_level(clients: BrowserClients | RtcClients, url: str, reference: np.ndarray, streams: int,
              seconds: float, server: psutil.Process) -> dict[str, Any]:
    visitors: list[WebcamPage | RtcVisitor] = []
    first_s: list[float | None] = []
    refused = 0
    try:
        for _ in range(streams):
            visitor = clients.visitor(url, reference)
            t0 = time.monotonic()
            try:
                visitor.start()
                frame = visitor.wait_processed(STREAM_TIMEOUT_S)
            except ServerFull:  # the page turned it away (FER_MAX_STREAMS): no stream to measure
                refused += 1
                visitor.close()
                continue
            except Exception as exc:  # a visitor that could not connect counts as not connected
                print(f"a visitor did not connect: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                frame = None
            first_s.append(time.monotonic() - t0 if frame is not None else None)
            visitors.append(visitor)
        time.sleep(WARMUP_S)

        shown: list[list[tuple[float, int | None]]] = [[] for _ in visitors]
        panels: list[list[Any]] = [[] for _ in visitors]
        server_cpu0, clients_cpu0, busy0 = cpu_s(server), clients.cpu_s(), machine_busy_s()
        t_start = time.monotonic()
        while (now := time.monotonic()) - t_start < seconds:
            for i, visitor in enumerate(visitors):
                shown[i].append((time.monotonic(), visitor.frames_shown()))
                panel = visitor.panel()
                if panel is not None:
                    panels[i].append(panel)
            time.sleep(max(0.0, 1.0 - (time.monotonic() - now)))
        wall = time.monotonic() - t_start
        server_cores = (cpu_s(server) - server_cpu0) / wall
        clients_cores = (clients.cpu_s() - clients_cpu0) / wall
        busy_cores = (machine_busy_s() - busy0) / wall
        rss_mib, threads = server.memory_info().rss / 2**20, server.num_threads()
        errors = sum("analysis failed" in v.text() for v in visitors)
    finally:
        for visitor in visitors:
            visitor.close()
        clients.leave()
    time.sleep(SETTLE_S)

    per_stream = []
    for i in range(len(visitors)):
        got = shown[i]
        fps = [p.fps for p in panels[i]]
        latency = [p.latency_ms for p in panels[i]]
        per_stream.append({
            "first_processed_s": first_s[i],
            "analysed_fps_median": statistics.median(fps) if fps else 0.0,
            "latency_ms_median": statistics.median(latency) if latency else None,
            "skipped_share": panels[i][-1].skipped_share if panels[i] else None,
            "received_fps": received_fps(got),
            "kept_coming": kept_coming(got),
            "camera_fps": getattr(visitors[i], "fps", None),  # aiortc clients: the rate the page allowed
            "camera_size": getattr(visitors[i], "size", None),  # and the picture size it asked for
            # a page read fewer than twice in the window tells nothing about gaps
            "longest_gap_s": longest_gap_s(got) if received_fps(got) is not None else None,
            "samples_without_video": sum(n is None for _, n in got),
        })
    fps_all = [s["analysed_fps_median"] for s in per_stream]
    firsts = [s["first_processed_s"] for s in per_stream]
    return {
        "streams": streams,
        "connected": sum(f is not None for f in firsts),
        "refused": refused,
        "analysed_fps_min": min(fps_all, default=0.0),
        "analysed_fps_median": statistics.median(fps_all) if fps_all else 0.0,
        "camera_fps": [s["camera_fps"] for s in per_stream],
        "camera_size": [s.get("camera_size") for s in per_stream],
        # unknown when a page could not be read for most of the window (its renderer starved)
        "received_fps_min": received_fps_min(per_stream),
        "skipped_share_median": statistics.median([s["skipped_share"] or 0.0 for s in per_stream] or [0.0]),
        "latency_ms_median": statistics.median([s["latency_ms_median"] or 0.0 for s in per_stream] or [0.0]),
        "first_processed_s_max": max((f for f in firsts if f is not None), default=None),
        **gap_summary(per_stream),
        "pages_with_analysis_errors": errors,
        "server_cpu_cores": server_cores,
        "browser_cpu_cores": clients_cores,  # the clients' CPU (browsers or aiortc clients)
        "other_cpu_cores": max(0.0, busy_cores - server_cores - clients_cores),
        "server_rss_mib": rss_mib,
        "server_threads": threads,
        "server_rss_mib_after_leaving": server.memory_info().rss / 2**20,
        "server_threads_after_leaving": server.num_threads(),
        "window_s": wall,
        "per_stream": per_stream,
    }


def gap_summary(per_stream: list[dict[str, Any]]) -> dict[str, Any]:
    """The longest gap over the streams that could be sampled, how many of them stalled, and how
    many could not be sampled often enough to tell (their browsers starved of CPU)."""
    known = [s["longest_gap_s"] for s in per_stream
             if s["longest_gap_s"] is not None and s.get("received_fps") is not None]
    return {"longest_gap_s": max(known, default=None),
            "stalled_streams": sum(g >= STALL_S for g in known),
            "unsampled_streams": len(per_stream) - len(known)}


def received_fps_min(per_stream: list[dict[str, Any]]) -> float | None:
    """The slowest stream's received frame rate; None when a stream's page could not be read at
    some sample (its count then spans a shorter, unrepresentative part of the window)."""
    if any(s["samples_without_video"] for s in per_stream):
        return None
    return min(s["received_fps"] for s in per_stream)


def sizing_rule(levels: list[dict[str, Any]], target_fps: float = TARGET_FPS) -> int:
    """The most streams held with every stream connected, none stalled, all at >= target_fps."""
    ok = [lv["streams"] for lv in levels
          if lv["connected"] == lv["streams"] and lv["stalled_streams"] == 0 and not lv.get("unsampled_streams")
          and lv["analysed_fps_min"] >= target_fps]
    return max(ok, default=0)


def sizing(report: dict[str, Any]) -> dict[str, Any]:
    """The sizing rule of a run, as fer_core/live/sizing.json holds it: streams at >= 10 and >= 15
    analysed FPS, and the server's CPU per stream at the 10 FPS level."""
    levels = report["levels"]
    n, n15 = sizing_rule(levels), sizing_rule(levels, HIGH_FPS)
    at_n = next((lv for lv in levels if lv["streams"] == n), None)
    return {"max_streams": n, "streams_at_15fps": n15,
            "cores_per_stream": None if at_n is None else round(at_n["server_cpu_cores"] / n, 3),
            "target_fps": TARGET_FPS, "high_fps": HIGH_FPS, "cpus": report["machine"]["cpus"],
            "processor": report["machine"]["processor"], "model": report["model"],
            "flip_tta": report.get("flip_tta"), "date": report["date"],
            "measured_by": "python -m bench.capacity.load --clients " + report.get("clients", "browser")}


def markdown(report: dict[str, Any]) -> str:
    browsers = report.get("clients", "browser") == "browser"
    camera = "" if browsers else "cameras the page allowed | "
    rows = ["| streams | connected | analysed FPS per stream (min / median) | received FPS (min) | skipped | "
            "latency | first processed frame (slowest) | longest gap without a new frame | server CPU | "
            f"{'browsers' if browsers else 'clients'}' CPU | {camera}server RSS (running / after leaving) | threads |",
            "|---" * (12 if browsers else 13) + "|"]
    for lv in report["levels"]:
        first = lv["first_processed_s_max"]
        rates = "" if browsers else cameras_cell(lv) + " | "
        rows.append(
            f"| {lv['streams']} | {lv['connected']}{_refused(lv)} | {lv['analysed_fps_min']:.1f} / {lv['analysed_fps_median']:.1f} | "
            f"{_num(lv['received_fps_min'])} | {100 * lv['skipped_share_median']:.0f}% | "
            f"{lv['latency_ms_median']:.0f} ms | {'—' if first is None else f'{first:.1f} s'} | "
            f"{_num(lv['longest_gap_s'])}{'' if lv['longest_gap_s'] is None else ' s'} | {lv['server_cpu_cores']:.2f} cores | {lv['browser_cpu_cores']:.2f} cores | "
            f"{rates}{lv['server_rss_mib']:.0f} / {lv['server_rss_mib_after_leaving']:.0f} MiB | "
            f"{lv['server_threads']} / {lv['server_threads_after_leaving']} |")
    if any(lv["received_fps_min"] is None for lv in report["levels"]):
        rows += ["", "—: a visitor's page did not answer for part of the window (its browser starved of CPU), so its "
                     "received frame rate is unknown; those seconds count as a gap without a new frame. A gap of — "
                     "means some page could not be read twice in the window at all, so its gaps are unknown."]
    n = report["sizing_rule_streams"]
    m = report["machine"]
    rule = (f"**Sizing rule: one {m['cpus']}-core server held {n} live stream{'s' if n != 1 else ''} with every "
            f"stream at >= {TARGET_FPS:.0f} analysed FPS**" if n else
            f"**No level kept every stream at >= {TARGET_FPS:.0f} analysed FPS**")
    rule_15 = sizing_line(report)
    who = ("each visitor's browser on the same machine; a dedicated server also has the browsers' CPU" if browsers else
           "the visitors' aiortc clients on the same machine, sending a camera encoded once and decoding the "
           "returned video; a dedicated server also has their CPU")
    rate = f"{CAMERA_FPS} FPS" if browsers else f"up to {CAMERA_FPS} FPS, as the page allowed each stream"
    rows += ["", rule + f" (model `{report['model']}`{' with flip TTA' if report.get('flip_tta') else ''}, 640x480 camera at "
             f"{rate}, {who}){rule_15}"]
    beyond = [overload_phrase(lv) for lv in report["levels"] if lv["streams"] > n]
    if beyond:
        rows += ["", "Beyond that: " + "; ".join(beyond) + "."]
    flag = "" if browsers else " --clients aiortc"
    rows += ["", f"`python -m bench.capacity.load{flag}`, {report['window_s']:.0f} s per level, {m['processor']}, "
                 f"{m['cpus']} CPUs, {report['date']}."]
    return "\n".join(rows)


def sizing_line(report: dict[str, Any]) -> str:
    """The rest of the rule's sentence: cores per stream, the 15 FPS rule, FER_MAX_STREAMS."""
    rule = sizing(report)
    if not rule["max_streams"]:
        return "."
    n15 = rule["streams_at_15fps"]
    return (f": {rule['cores_per_stream']:.2f} server cores per stream there; "
            f"{n15 or 'no'} stream{'s' if n15 != 1 else ''} with every stream at >= {HIGH_FPS:.0f} analysed FPS. "
            f"`FER_MAX_STREAMS`' default is this rule ({rule['max_streams']}), read from `fer_core/live/sizing.json`, "
            "which this benchmark writes.")


def cameras_cell(level: dict[str, Any]) -> str:
    """How many streams had which camera, e.g. "2 x 30 FPS 640x480, 4 x 15 FPS 480x360"."""
    sizes = level.get("camera_size") or [None] * len(level.get("camera_fps", []))
    counts = Counter(zip(level.get("camera_fps", []), (tuple(x) if x else None for x in sizes)))
    return ", ".join(f"{n} x {fps} FPS" + (f" {size[0]}x{size[1]}" if size else "")
                     for (fps, size), n in sorted(counts.items(), key=lambda kv: (-(kv[0][0] or 0), str(kv[0][1]))))


def _refused(level: dict[str, Any]) -> str:
    return f" ({level['refused']} told the server is full)" if level.get("refused") else ""


def _num(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def overload_phrase(lv: dict[str, Any]) -> str:
    """What one level past the sizing rule did to its streams, from its figures."""
    first = lv["first_processed_s_max"]
    notes = ([] if first is None else [f"the last after {first:.0f} s"]) + (
        [f"{lv['refused']} told the server is full"] if lv.get("refused") else [])
    joined = f"{lv['connected']} of {lv['streams']} connected" + (f" ({'; '.join(notes)})" if notes else "")
    unsampled = lv.get("unsampled_streams", 0)
    if unsampled == lv["streams"]:
        flow = ("no visitor page could be read twice in the window (the browsers starved of CPU), so whether "
                "the streams stalled is unknown")
    elif lv["stalled_streams"]:
        flow = (f"{lv['stalled_streams']} had a gap of {STALL_S:.0f} s or more without a new frame (longest "
                f"{lv['longest_gap_s']:.0f} s)")
    elif not unsampled:
        flow = f"every stream kept receiving video (lowest {_num(lv['received_fps_min'], 0)} FPS)"
    else:
        flow = f"no stream that could be read had a gap of {STALL_S:.0f} s or more"
    if 0 < unsampled < lv["streams"]:
        flow += f"; {unsampled} page(s) could not be read twice in the window (browsers starved of CPU)"
    return (f"at {lv['streams']} streams {joined}, {flow}, analysed at {lv['analysed_fps_min']:.1f} to "
            f"{lv['analysed_fps_median']:.1f} FPS each")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity.load", description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 2, 4, 8], help="levels (default 1 2 4 8)")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window per level (default 30)")
    parser.add_argument("--clients", choices=("browser", "aiortc"), default="browser",
                        help="visitors as headless Chromium browsers (default) or aiortc clients (bench.capacity.rtc_visitor)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for load.json and load.md")
    parser.add_argument("--render", action="store_true", help="only rewrite load.md from the stored load.json")
    parser.add_argument("--sizing", type=Path, default=None,
                        help="where to write the sizing rule (default: fer_core/live/sizing.json for an aiortc run into "
                             "the default folder, else sizing.json in --out)")
    return parser.parse_args(argv)


def write_outputs(args: argparse.Namespace, report: dict[str, Any]) -> None:
    write_report(args.out, "load", report, markdown(report))
    target = args.sizing or (SIZING_FILE if args.out == RESULTS and report.get("clients") == "aiortc"
                             else args.out / "sizing.json")
    target.write_text(json.dumps(sizing(report), indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        report = json.loads((args.out / "load.json").read_text())
        for level in report["levels"]:
            level["received_fps_min"] = received_fps_min(level["per_stream"])
            level.update(gap_summary(level["per_stream"]))
        report["sizing_rule_streams"] = sizing_rule(report["levels"])
        write_outputs(args, report)
        return 0
    if args.clients == "browser" and find_chromium() is None:
        print("bench.capacity.load needs Chromium: apt-get install chromium fonts-dejavu-core", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    from fer_core.model_zoo import default_flip_tta, default_model_name

    with tempfile.TemporaryDirectory(prefix="fer-load-") as tmp:
        frames = camera_frames()
        video = Path(tmp) / "camera.y4m"
        write_y4m(video, frames, fps=CAMERA_FPS)
        port = free_port()
        log = Path(tmp) / "streamlit.log"
        levels = []
        with running(streamlit_command(port), port, log, streamlit_env({"FER_STUN_URLS": "none", "FER_MAX_STREAMS": "0"})) as proc:
            wait_healthy(proc, port, log)
            server = psutil.Process(proc.pid)
            url = f"http://127.0.0.1:{port}/Live_webcam"
            with contextlib.ExitStack() as stack:
                if args.clients == "browser":
                    clients: BrowserClients | RtcClients = BrowserClients(stack.enter_context(sync_playwright()), video)
                else:
                    clients = RtcClients(frames)
                    stack.callback(clients.loop.close)
                for n in args.streams:
                    print(f"{n} stream(s)…", file=sys.stderr, flush=True)
                    level = run_level(clients, url, frames[0], n, args.seconds, server)
                    print(json.dumps({k: v for k, v in level.items() if k != "per_stream"}), file=sys.stderr)
                    levels.append(level)
    report = {
        "model": default_model_name(), "flip_tta": default_flip_tta(), "clients": args.clients,
        "date": time.strftime("%Y-%m-%d"),
        "window_s": args.seconds,
        "machine": {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
        "levels": levels,
        "sizing_rule_streams": sizing_rule(levels),
    }
    write_outputs(args, report)
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
