"""Where a live stream's CPU goes, per analysed frame: a sampling profiler on the real server.

    python -m bench.capacity.live_profile [--streams 1 3] [--seconds 20] [--rate 200]

One `streamlit run app.py` server (the shipped default model, as bench.capacity.load runs it) and, per
level, N of bench.capacity.rtc_visitor's aiortc clients on the Live webcam page. Once every stream has
returned a processed frame and warmed up, py-spy (a sampling profiler, `pip install py-spy`)
attaches to the server for `--seconds` and records every active thread's Python stack `--rate`
times a second. Each sample is put in one bucket by its innermost frame that names a part:

* decode / encode: aiortc's codec calls (VP8 in, VP8 out, their frame conversions included);
* to_ndarray / from_ndarray: our LiveProcessor's two conversions between av frames and arrays;
* detection, classification (LiteRT), crop and preprocessing, tracking, drawing: fer_core;
* event loop and WebRTC transport: asyncio, aioice, aiortc's RTP/RTCP/SRTP, streamlit-webrtc;
* Streamlit server, other.

Native work (libvpx, LiteRT's kernels, OpenCV) has no Python frame of its own and counts for the
Python line that called it, which is what the buckets want. Threads waiting for the interpreter
lock or sleeping are idle to py-spy and not sampled, so a bucket's samples / rate is CPU time.
Divided by the frames the streams analysed in the window (the page's own analysed FPS), that is
milliseconds of CPU per analysed frame. The "physical floor" is the sum of the parts every
analysed frame needs whatever the code around them (decode, to_ndarray, detection,
classification, from_ndarray, encode); 2 cores / (floor x 10 FPS) is the most streams at 10
analysed FPS that the parts allow.

Writes bench/results/live_profile.json and live_profile.md (docs section `live_profile`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from bench.capacity.load import CAMERA_FPS, WARMUP_S, RtcClients, camera_frames, cpu_s
from bench.capacity.rtc_visitor import ServerFull
from tests.helpers.streamlit_server import ROOT, free_port, running, streamlit_command, streamlit_env, wait_healthy

RESULTS = ROOT / "bench" / "results"
# the same run repeated on a server with the settings the cuts replaced, to measure them
BEFORE_LABEL = "a full gc.collect(2) after every script run (Streamlit's default runner.postScriptGC)"
BEFORE_ENV = {"STREAMLIT_RUNNER_POST_SCRIPT_GC": "true"}
TARGET_FPS = 10.0
PROCESSOR_FILE = "fer_core/live/processor.py"

# (bucket, test on one "function (file:line)" frame); the first bucket whose test matches the
# innermost frame that any test matches wins
FLOOR = ("decode", "to_ndarray", "detection", "classification", "from_ndarray", "encode")
BUCKETS = (*FLOOR, "crop and preprocessing", "tracking", "drawing", "rest of fer_core",
           "event loop and WebRTC transport", "Streamlit server", "other")


def conversion_lines(source: Path | None = None) -> dict[int, str]:
    """The line numbers of LiveProcessor's to_ndarray / from_ndarray calls, read from its source
    (so an edit to the file never mislabels samples)."""
    text = (source or ROOT / PROCESSOR_FILE).read_text().splitlines()
    lines = {}
    for number, line in enumerate(text, start=1):
        for name in ("to_ndarray", "from_ndarray"):
            if f".{name}(" in line:
                lines[number] = name
    return lines


def _where(frame: str) -> tuple[str, str, str]:
    function, _, where = frame.partition(" (")
    path, _, line = where.rstrip(")").rpartition(":")
    return function, path.replace("\\", "/"), line


def _frame_bucket(frame: str) -> str | None:
    function, path, _ = _where(frame)
    if "aiortc/codecs/" in path:
        if "decode" in function:
            return "decode"
        if "encode" in function or "_encode" in function:
            return "encode"
    for part, bucket in (("fer_core/detection/", "detection"), ("fer_core/classifier", "classification"),
                         ("fer_core/preprocessing", "crop and preprocessing"), ("fer_core/framing", "crop and preprocessing"),
                         ("fer_core/tracking", "tracking"), ("fer_core/drawing", "drawing")):
        if part in path:
            return bucket
    return None


def _outer_bucket(frames: Sequence[str]) -> str:
    """For a stack no part (and no fer_core code) claims: whose thread it is."""
    joined = ";".join(frames)
    if any(x in joined for x in ("aiortc/", "aioice/", "streamlit_webrtc/", "asyncio/", "av/")):
        return "event loop and WebRTC transport"
    if "streamlit/" in joined or "tornado/" in joined:
        return "Streamlit server"
    return "other"


def classify_stack(stack: str, conversions: dict[int, str]) -> str:
    """One raw py-spy stack ("outer;...;inner", each "function (file:line)") -> its bucket."""
    frames = [f for f in stack.split(";") if f]
    if not frames:
        return "other"
    _, path, line = _where(frames[-1])
    # a conversion is native code: only a sample whose innermost Python frame is that line is in it
    if path.endswith(PROCESSOR_FILE) and line.isdigit() and int(line) in conversions:
        return conversions[int(line)]
    for frame in reversed(frames):  # innermost first
        bucket = _frame_bucket(frame)
        if bucket is not None:
            return bucket
    if any("fer_core/" in f for f in frames):
        return "rest of fer_core"
    return _outer_bucket(frames)


def read_raw(path: Path, conversions: dict[int, str]) -> Counter[str]:
    """py-spy's raw (collapsed) output -> samples per bucket."""
    counts: Counter[str] = Counter()
    for stack, n in _samples(path):
        counts[classify_stack(stack, conversions)] += n
    return counts


def _samples(path: Path) -> list[tuple[str, int]]:
    out = []
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            out.append((stack, int(n)))
    return out


def top_functions(path: Path, conversions: dict[int, str], per_bucket: int = 3) -> dict[str, list[tuple[str, int]]]:
    """Per bucket, the innermost Python functions with the most samples: what the time went to
    inside a part (e.g. which Streamlit or asyncio call)."""
    found: dict[str, Counter[str]] = {}
    for stack, n in _samples(path):
        function, file, _ = _where(stack.split(";")[-1])
        inner = f"{function} ({file})"
        found.setdefault(classify_stack(stack, conversions), Counter())[inner] += n
    return {b: c.most_common(per_bucket) for b, c in found.items()}


def breakdown(counts: Counter[str], rate: float, frames_analysed: float, window_s: float) -> dict[str, Any]:
    """Samples per bucket -> CPU ms per analysed frame and share, the floor and what it allows."""
    total = sum(counts.values())
    rows: list[dict[str, Any]] = [{"part": b, "samples": counts.get(b, 0),
             "ms_per_frame": 1000.0 * counts.get(b, 0) / rate / frames_analysed if frames_analysed else None,
             "share": counts.get(b, 0) / total if total else None} for b in BUCKETS]
    per_frame = {r["part"]: r["ms_per_frame"] for r in rows}
    floor = sum(per_frame[b] or 0.0 for b in FLOOR) if frames_analysed else None
    all_ms = sum(r["ms_per_frame"] or 0.0 for r in rows) if frames_analysed else None
    cores = os.cpu_count() or 1
    return {"rows": rows, "samples": total, "cpu_cores_sampled": total / rate / window_s if window_s else None,
            "ms_per_frame_total": all_ms, "floor_ms_per_frame": floor,
            "streams_at_10fps_by_floor": cores * 1000.0 / (floor * TARGET_FPS) if floor else None,
            "streams_at_10fps_by_total": cores * 1000.0 / (all_ms * TARGET_FPS) if all_ms else None}


def profile_level(clients: RtcClients, url: str, streams: int, seconds: float, rate: float,
                  server: psutil.Process, spy: str, tmp: Path) -> dict[str, Any]:
    frames0 = camera_frames()[0]
    visitors = []
    try:
        for _ in range(streams):
            visitor = clients.visitor(url, frames0)
            try:
                visitor.start()
                if visitor.wait_processed() is None:
                    raise RuntimeError("no processed frame came back")
            except ServerFull:
                visitor.close()
                continue
            visitors.append(visitor)
        time.sleep(WARMUP_S)
        raw = tmp / f"spy_{streams}.txt"
        cpu0, t0 = cpu_s(server), time.monotonic()
        spy_proc = subprocess.Popen([spy, "record", "--pid", str(server.pid), "--rate", str(int(rate)),
                                     "--duration", str(int(seconds)), "--format", "raw", "--output", str(raw),
                                     "--nonblocking"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        fps: list[list[float]] = [[] for _ in visitors]
        while spy_proc.poll() is None:
            for i, v in enumerate(visitors):
                panel = v.panel()
                if panel is not None:
                    fps[i].append(panel.fps)
            time.sleep(1.0)
        window = time.monotonic() - t0
        server_cores = (cpu_s(server) - cpu0) / window
        spy_log = spy_proc.stdout.read() if spy_proc.stdout else ""
        if spy_proc.returncode != 0 or not raw.is_file():
            raise RuntimeError(f"py-spy failed: {spy_log[-2000:]}")
    finally:
        for v in visitors:
            v.close()
    medians = [statistics.median(f) if f else 0.0 for f in fps]
    analysed = sum(medians) * seconds
    result = breakdown(read_raw(raw, conversion_lines()), rate, analysed, seconds)
    result["top_functions"] = top_functions(raw, conversion_lines())
    result.update(streams=streams, connected=len(visitors), analysed_fps=medians, window_s=window,
                  server_cpu_cores=server_cores)
    return result


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def markdown(report: dict[str, Any]) -> str:
    levels = report["levels"]
    head = "| part | " + " | ".join(f"{lv['connected']} stream{'s' if lv['connected'] != 1 else ''}: ms per frame (share)"
                                     for lv in levels) + " |"
    lines = [head, "|---|" + "---|" * len(levels)]
    for i, part in enumerate(BUCKETS):
        cells = [f"{_ms(lv['rows'][i]['ms_per_frame'])} ({100 * (lv['rows'][i]['share'] or 0):.0f}%)" for lv in levels]
        lines.append(f"| {'**' + part + '**' if part in FLOOR else part} | " + " | ".join(cells) + " |")
    lines.append("| all parts | " + " | ".join(f"{_ms(lv['ms_per_frame_total'])}" for lv in levels) + " |")
    lines.append("| floor (bold parts) | " + " | ".join(f"{_ms(lv['floor_ms_per_frame'])}" for lv in levels) + " |")
    lines.append("| analysed FPS per stream | " + " | ".join(
        " / ".join(f"{f:.1f}" for f in lv["analysed_fps"]) for lv in levels) + " |")
    lines.append("| server CPU (psutil / py-spy samples) | " + " | ".join(
        f"{lv['server_cpu_cores']:.2f} / {lv['cpu_cores_sampled']:.2f} cores" for lv in levels) + " |")
    before = report.get("before") or []
    if before:
        lines.append("| all parts, before the cuts | " + " | ".join(_ms(b["ms_per_frame_total"]) for b in before) + " |")
        lines.append("| Streamlit server, before the cuts | " + " | ".join(
            _ms(b["rows"][BUCKETS.index("Streamlit server")]["ms_per_frame"]) for b in before) + " |")
    last = levels[-1]
    lines += ["", f"**Floor: {_ms(last['floor_ms_per_frame'])} ms of CPU per analysed frame** at {last['connected']} "
              f"streams (decode, to_ndarray, detection, classification, from_ndarray, encode): on {report['machine']['cpus']} "
              f"cores that allows at most {last['streams_at_10fps_by_floor']:.1f} streams at 10 analysed FPS; all parts "
              f"together ({_ms(last['ms_per_frame_total'])} ms) allow {last['streams_at_10fps_by_total']:.1f}.",
              *(["", f"Before the cuts: the same streams on a server with {report['before_label']}, in the same run."]
                if before else []),
              "", f"`python -m bench.capacity.live_profile`, py-spy at {report['rate']:g} Hz for {report['window_s']:g} s per level, "
              f"model `{report['model']}`{' with flip TTA' if report['flip_tta'] else ''}, "
              f"{report['machine']['processor']}, {report['machine']['cpus']} CPUs, {report['date']}."]
    return "\n".join(lines)


def run_server(args: argparse.Namespace, env: dict[str, str], spy: str) -> list[dict[str, Any]]:
    """One server (the shipped settings plus `env`) through every level."""
    levels = []
    with tempfile.TemporaryDirectory(prefix="fer-profile-") as tmp:
        port = free_port()
        log = Path(tmp) / "streamlit.log"
        with running(streamlit_command(port), port, log, streamlit_env({"FER_STUN_URLS": "none", **env})) as proc:
            wait_healthy(proc, port, log)
            server = psutil.Process(proc.pid)
            clients = RtcClients(camera_frames())
            try:
                for n in args.streams:
                    print(f"{n} stream(s), {env or 'shipped settings'}…", file=sys.stderr, flush=True)
                    level = profile_level(clients, f"http://127.0.0.1:{port}/Live_webcam", n, args.seconds,
                                          args.rate, server, spy, Path(tmp))
                    print(json.dumps({k: level[k] for k in ("streams", "connected", "floor_ms_per_frame",
                                                            "ms_per_frame_total")}), file=sys.stderr)
                    levels.append(level)
                    time.sleep(5)  # the streams of this level end before the next starts
            finally:
                clients.loop.close()
    return levels


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity.live_profile", description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 3], help="levels (default 1 3)")
    parser.add_argument("--seconds", type=float, default=20.0, help="profiled window per level (default 20)")
    parser.add_argument("--rate", type=float, default=200.0, help="py-spy samples per second (default 200)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for live_profile.json and .md")
    parser.add_argument("--no-before", action="store_true",
                        help="skip the second server with the settings before the cuts (BEFORE_ENV)")
    parser.add_argument("--render", action="store_true", help="only rewrite live_profile.md from the stored json")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        report = json.loads((args.out / "live_profile.json").read_text())
        (args.out / "live_profile.md").write_text(markdown(report) + "\n")
        return 0
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("bench.capacity.live_profile needs py-spy: pip install -r bench/requirements.txt", file=sys.stderr)
        return 2
    from fer_core.model_zoo import default_flip_tta, default_model_name

    runs = {"shipped": run_server(args, {}, spy)}
    if not args.no_before:
        runs["before"] = run_server(args, BEFORE_ENV, spy)
    report = {"model": default_model_name(), "flip_tta": default_flip_tta(), "date": time.strftime("%Y-%m-%d"),
              "rate": args.rate, "window_s": args.seconds, "camera_fps": CAMERA_FPS,
              "machine": {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
              "levels": runs["shipped"], "before": runs.get("before"), "before_label": BEFORE_LABEL}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "live_profile.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "live_profile.md").write_text(markdown(report) + "\n")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
