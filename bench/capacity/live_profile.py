"""Where a live stream's CPU goes, per analysed frame: a sampling profiler on the real server.

    python -m bench.capacity.live_profile [--streams 1 3 6] [--compare 3] [--seconds 20] [--rate 200]

One `streamlit run app.py` server (the shipped default model, as bench.capacity.load runs it, no
stream limit) and, per level, N of bench.capacity.rtc_visitor's aiortc clients on the Live webcam
page. Once every stream has returned a processed frame and warmed up, py-spy (a sampling
profiler, requirements-dev.txt) attaches to the server for `--seconds` and records every active
thread's Python stack `--rate` times a second; a second py-spy records only the thread holding
the interpreter lock. Each sample is put in one bucket by its innermost frame that names a part:

* decode / encode: aiortc's codec calls (VP8 in, VP8 out, the encoder's own pixel conversion included);
* to_ndarray / from_ndarray: fer_core.live.frames, our conversions between av frames and arrays;
* detection, classification (LiteRT), crop and preprocessing, tracking, drawing: fer_core;
* event loop and WebRTC transport: asyncio, aioice, aiortc's RTP/RTCP/SRTP, streamlit-webrtc;
* Streamlit server, other.

Native work (libvpx, LiteRT's kernels, OpenCV) has no Python frame of its own and counts for the
Python line that called it, which is what the buckets want. Threads waiting for the interpreter
lock or sleeping are idle to py-spy and not sampled, so a bucket's samples / rate is CPU time.
Divided by the frames the streams analysed in the window (the page's own analysed FPS), that is
milliseconds of CPU per analysed frame. The same samples by thread show whether one thread (the
event loop, which Streamlit and every stream's WebRTC share) is the limit, and the lock's samples
how much of the time some thread held it. The "physical floor" is the sum of the parts every
analysed frame needs whatever the code around them (decode, to_ndarray, detection,
classification, from_ndarray, encode); 2 cores / (floor x 10 FPS) is the most streams at 10
analysed FPS that the parts allow.

The cuts (CUTS: each a server setting that restores the old path) are measured in the same run:
at each `--compare` level, a server with every cut undone ("before") and one per cut with only
that cut undone, against the shipped settings.

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
from bench.common.results import write_report
from tests.helpers.streamlit_server import ROOT, free_port, running, streamlit_command, streamlit_env, wait_healthy

RESULTS = ROOT / "bench" / "results"
# each cut: what it is, and the server environment that restores the path before it
CUTS: dict[str, tuple[str, dict[str, str]]] = {
    "detect_every": ("the detector on every k-th analysed frame, tracked boxes between (FER_DETECT_EVERY)",
                     {"FER_DETECT_EVERY": "1"}),
    "frame_format": ("annotated frames handed to the encoder as yuv420p, converted once by OpenCV, instead of "
                     "RGB the encoder converts each time it sends one (FER_LIVE_FRAME_FORMAT)",
                     {"FER_LIVE_FRAME_FORMAT": "rgb24"}),
    "pacing": ("each analysed frame sent once, nothing in between (fer_core.live.track), instead of a frame back "
               "for every camera frame, the last analysed one again (FER_LIVE_PACING)", {"FER_LIVE_PACING": "camera"}),
    "charts_every": ("the Live page's charts refreshed every few seconds, its figures every second "
                     "(FER_LIVE_CHARTS_EVERY)", {"FER_LIVE_CHARTS_EVERY": "1"}),
    "camera_size": ("streams beyond the full-rate ones ask for a 480x360 camera instead of 640x480 "
                    "(FER_REDUCED_CAMERA_SIZE)", {"FER_REDUCED_CAMERA_SIZE": "640x480"}),
}
BEFORE_ENV = {k: v for _, env in CUTS.values() for k, v in env.items()}
SERVER_ENV = {"FER_STUN_URLS": "none", "FER_MAX_STREAMS": "0"}  # no limit: the levels are ours to choose
TARGET_FPS = 10.0
FRAMES_FILE = "fer_core/live/frames.py"
CONVERSIONS = {"to_rgb": "to_ndarray", "to_video_frame": "from_ndarray"}  # fer_core.live.frames -> bucket
GIL_RATE = 100.0  # the lock holder's sampling rate (a second py-spy)

# (bucket, test on one "function (file:line)" frame); the first bucket whose test matches the
# innermost frame that any test matches wins
FLOOR = ("decode", "to_ndarray", "detection", "classification", "from_ndarray", "encode")
BUCKETS = (*FLOOR, "crop and preprocessing", "tracking", "drawing", "rest of fer_core",
           "event loop and WebRTC transport", "Streamlit server", "other")
# threads by name (py-spy --threads): streamlit-webrtc runs aiortc on Streamlit's own event loop,
# whose default executor ("asyncio_N") runs aiortc's encoders; analysis runs on AnalysedTrack's
# workers (streamlit-webrtc's own with FER_LIVE_PACING=camera)
THREAD_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("event loop (Streamlit and WebRTC)", ("MainThread",)),
    ("analysis", ("fer-live-analysis", "async_media_processor")),
    ("decoders", ("-decoder",)), ("encoders", ("asyncio_",)),
    ("Streamlit scripts", ("ScriptRunner", "ThreadPoolExecutor")))  # the latter: fragments run in parallel
OTHER_THREADS = "other threads"


def _where(frame: str) -> tuple[str, str, str]:
    function, _, where = frame.partition(" (")
    path, _, line = where.rstrip(")").rpartition(":")
    return function, path.replace("\\", "/"), line


def _frame_bucket(frame: str) -> str | None:
    function, path, _ = _where(frame)
    if path.endswith(FRAMES_FILE) and function in CONVERSIONS:
        return CONVERSIONS[function]
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


def split_thread(stack: str) -> tuple[str | None, list[str]]:
    """A raw py-spy stack -> (thread name or None, its frames outer to inner); with --threads
    py-spy puts "thread (id): name" first."""
    frames = [f for f in stack.split(";") if f]
    if frames and frames[0].startswith("thread ("):
        _, _, name = frames[0].partition("): ")
        return name or None, frames[1:]
    return None, frames


def thread_kind(name: str | None) -> str:
    for kind, markers in THREAD_KINDS:
        if name and any(m in name for m in markers):
            return kind
    return OTHER_THREADS


def _outer_bucket(frames: Sequence[str]) -> str:
    """For a stack no part (and no fer_core code) claims: whose thread it is."""
    joined = ";".join(frames)
    if any(x in joined for x in ("aiortc/", "aioice/", "streamlit_webrtc/", "asyncio/", "av/")):
        return "event loop and WebRTC transport"
    if "streamlit/" in joined or "tornado/" in joined:
        return "Streamlit server"
    return "other"


def classify_stack(stack: str) -> str:
    """One raw py-spy stack ("outer;...;inner", each "function (file:line)") -> its bucket."""
    _, frames = split_thread(stack)
    if not frames:
        return "other"
    for frame in reversed(frames):  # innermost first
        bucket = _frame_bucket(frame)
        if bucket is not None:
            return bucket
    if any("fer_core/" in f for f in frames):
        return "rest of fer_core"
    return _outer_bucket(frames)


def read_raw(path: Path) -> Counter[str]:
    """py-spy's raw (collapsed) output -> samples per bucket."""
    counts: Counter[str] = Counter()
    for stack, n in _samples(path):
        counts[classify_stack(stack)] += n
    return counts


def read_threads(path: Path) -> Counter[str]:
    """py-spy's raw output (recorded with --threads) -> samples per thread kind."""
    counts: Counter[str] = Counter()
    for stack, n in _samples(path):
        counts[thread_kind(split_thread(stack)[0])] += n
    return counts


def _samples(path: Path) -> list[tuple[str, int]]:
    out = []
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            out.append((stack, int(n)))
    return out


def top_functions(path: Path, per_bucket: int = 3) -> dict[str, list[tuple[str, int]]]:
    """Per bucket, the innermost Python functions with the most samples: what the time went to
    inside a part (e.g. which Streamlit or asyncio call)."""
    found: dict[str, Counter[str]] = {}
    for stack, n in _samples(path):
        function, file, _ = _where(stack.split(";")[-1])
        inner = f"{function} ({file})"
        found.setdefault(classify_stack(stack), Counter())[inner] += n
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


def _spy(spy: str, pid: int, rate: float, seconds: float, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", str(int(rate)), "--duration", str(int(seconds)),
                             "--format", "raw", "--output", str(out), "--nonblocking", "--threads", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


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
        raw, gil = tmp / f"spy_{streams}.txt", tmp / f"gil_{streams}.txt"
        cpu0, t0 = cpu_s(server), time.monotonic()
        spies = [_spy(spy, server.pid, rate, seconds, raw), _spy(spy, server.pid, GIL_RATE, seconds, gil, "--gil")]
        fps: list[list[float]] = [[] for _ in visitors]
        received0 = [v.frames_shown() or 0 for v in visitors]
        while any(sp.poll() is None for sp in spies):
            for i, v in enumerate(visitors):
                panel = v.panel()
                if panel is not None:
                    fps[i].append(panel.fps)
            time.sleep(1.0)
        window = time.monotonic() - t0
        server_cores = (cpu_s(server) - cpu0) / window
        received = [((v.frames_shown() or 0) - r0) / window for v, r0 in zip(visitors, received0)]
        for sp, out in zip(spies, (raw, gil)):
            log = sp.stdout.read() if sp.stdout else ""
            if sp.returncode != 0 or not out.is_file():
                raise RuntimeError(f"py-spy failed: {log[-2000:]}")
    finally:
        for v in visitors:
            v.close()
    medians = [statistics.median(f) if f else 0.0 for f in fps]
    analysed = sum(medians) * seconds
    result = breakdown(read_raw(raw), rate, analysed, seconds)
    result["top_functions"] = top_functions(raw)
    result["threads_cores"] = {k: n / rate / seconds for k, n in read_threads(raw).items()}
    gil_threads = read_threads(gil)
    result["gil_held_share"] = sum(gil_threads.values()) / GIL_RATE / seconds
    result["gil_threads_share"] = {k: n / GIL_RATE / seconds for k, n in gil_threads.items()}
    result.update(streams=streams, connected=len(visitors), analysed_fps=medians, received_fps=received,
                  window_s=window, server_cpu_cores=server_cores)
    return result


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def _fps(level: dict[str, Any]) -> str:
    f = level["analysed_fps"]
    return "—" if not f else f"{min(f):.1f} / {statistics.median(f):.1f}"


def _part_ms(level: dict[str, Any], part: str) -> float:
    return level["rows"][BUCKETS.index(part)]["ms_per_frame"] or 0.0


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
    lines.append("| analysed FPS per stream (min / median) | " + " | ".join(_fps(lv) for lv in levels) + " |")
    lines.append("| server CPU (psutil / py-spy samples) | " + " | ".join(
        f"{lv['server_cpu_cores']:.2f} / {lv['cpu_cores_sampled']:.2f} cores" for lv in levels) + " |")
    kinds = [k for k, _ in THREAD_KINDS] + [OTHER_THREADS]
    for kind in kinds:
        lines.append(f"| thread: {kind}, cores (holding the lock) | " + " | ".join(
            f"{lv['threads_cores'].get(kind, 0.0):.2f} ({lv['gil_threads_share'].get(kind, 0.0):.2f})"
            for lv in levels) + " |")
    lines.append("| interpreter lock held | " + " | ".join(f"{100 * lv['gil_held_share']:.0f}% of the time"
                                                          for lv in levels) + " |")
    last = levels[-1]
    lines += ["", f"**Floor: {_ms(last['floor_ms_per_frame'])} ms of CPU per analysed frame** at {last['connected']} "
              f"streams (decode, to_ndarray, detection, classification, from_ndarray, encode): on {report['machine']['cpus']} "
              f"cores that allows at most {last['streams_at_10fps_by_floor']:.1f} streams at 10 analysed FPS; all parts "
              f"together ({_ms(last['ms_per_frame_total'])} ms) allow {last['streams_at_10fps_by_total']:.1f}."]
    compared = report.get("compared") or []
    if compared:
        lines += ["", "Each cut against the path before it, in the same run (the server restarted with the cut undone, "
                      "the same visitors):", "",
                  "| server | streams | analysed FPS per stream (min / median) | server CPU | CPU ms per analysed frame | "
                  "detection | from_ndarray | encode | received FPS (min) |", "|---|---|---|---|---|---|---|---|---|"]
        for row in compared:
            lv = row["level"]
            lines.append(f"| {row['label']} | {lv['connected']} | {_fps(lv)} | {lv['server_cpu_cores']:.2f} cores | "
                         f"{_ms(lv['ms_per_frame_total'])} | {_ms(_part_ms(lv, 'detection'))} | "
                         f"{_ms(_part_ms(lv, 'from_ndarray'))} | {_ms(_part_ms(lv, 'encode'))} | "
                         f"{min(lv['received_fps'], default=0.0):.1f} |")
        lines += ["", "The cuts: " + "; ".join(f"`{name}`: {what}" for name, (what, _) in CUTS.items()) + "."]
    lines += ["", f"`python -m bench.capacity.live_profile --streams {' '.join(str(lv['streams']) for lv in levels)}"
              f"{' --compare ' + ' '.join(str(c) for c in report.get('compare_levels', [])) if compared else ''}`, "
              f"py-spy at {report['rate']:g} Hz (the lock holder at {GIL_RATE:g} Hz) for {report['window_s']:g} s per level, "
              f"model `{report['model']}`{' with flip TTA' if report['flip_tta'] else ''}, "
              f"{report['machine']['processor']}, {report['machine']['cpus']} CPUs, {report['date']}."]
    return "\n".join(lines)


def floor_sentence(report: dict[str, Any]) -> str:
    """The README's line: the floor per analysed frame, what it allows, and what all parts cost."""
    last = report["levels"][-1]
    return (f"Where a live stream's CPU goes (`python -m bench.capacity.live_profile`, py-spy on the running server, "
            f"{last['connected']} streams, {report['date']}): the parts every analysed frame needs (decode, conversion, "
            f"detection, classification, conversion back, encode) cost {_ms(last['floor_ms_per_frame'])} ms of CPU per "
            f"analysed frame, a physical floor of {last['streams_at_10fps_by_floor']:.1f} streams at 10 analysed FPS on "
            f"{report['machine']['cpus']} cores; with everything around them (event loop, WebRTC transport, Streamlit, "
            f"drawing) a frame costs {_ms(last['ms_per_frame_total'])} ms. Details: "
            "[Many webcams at once](docs/capacity.md).")


def write_outputs(out: Path, report: dict[str, Any]) -> None:
    write_report(out, "live_profile", report, markdown(report))
    (out / "live_floor.md").write_text(floor_sentence(report) + "\n")


def run_server(args: argparse.Namespace, env: dict[str, str], levels_to_run: Sequence[int], spy: str) -> list[dict[str, Any]]:
    """One server (the shipped settings plus `env`) through the given levels."""
    levels = []
    with tempfile.TemporaryDirectory(prefix="fer-profile-") as tmp:
        port = free_port()
        log = Path(tmp) / "streamlit.log"
        with running(streamlit_command(port), port, log, streamlit_env({**SERVER_ENV, **env})) as proc:
            wait_healthy(proc, port, log)
            server = psutil.Process(proc.pid)
            clients = RtcClients(camera_frames())
            try:
                for n in levels_to_run:
                    print(f"{n} stream(s), {env or 'shipped settings'}…", file=sys.stderr, flush=True)
                    level = profile_level(clients, f"http://127.0.0.1:{port}/Live_webcam", n, args.seconds,
                                          args.rate, server, spy, Path(tmp))
                    print(json.dumps({k: level[k] for k in ("streams", "connected", "analysed_fps", "server_cpu_cores",
                                                            "floor_ms_per_frame", "ms_per_frame_total")}),
                          file=sys.stderr, flush=True)
                    levels.append(level)
                    time.sleep(5)  # the streams of this level end before the next starts
            finally:
                clients.loop.close()
    return levels


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity.live_profile", description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 3, 6], help="levels (default 1 3 6)")
    parser.add_argument("--compare", type=int, nargs="*", default=[6],
                        help="levels at which each cut is measured against the path before it (default 6; none: skip)")
    parser.add_argument("--cuts", nargs="*", choices=sorted(CUTS), default=sorted(CUTS),
                        help="the cuts measured one by one at the --compare levels (default all)")
    parser.add_argument("--seconds", type=float, default=20.0, help="profiled window per level (default 20)")
    parser.add_argument("--rate", type=float, default=200.0, help="py-spy samples per second (default 200)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for live_profile.json and .md")
    parser.add_argument("--render", action="store_true", help="only rewrite live_profile.md from the stored json")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        write_outputs(args.out, json.loads((args.out / "live_profile.json").read_text()))
        return 0
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("bench.capacity.live_profile needs py-spy: pip install -r requirements-dev.txt", file=sys.stderr)
        return 2
    from fer_core.model_zoo import default_flip_tta, default_model_name

    shipped = run_server(args, {}, sorted(set(args.streams) | set(args.compare)), spy)
    compared = []
    if args.compare:
        runs = [("before: every cut undone", BEFORE_ENV)] if len(args.cuts) > 1 else []
        runs += [(f"without `{name}`", CUTS[name][1]) for name in args.cuts]
        by_label = {label: run_server(args, env, args.compare, spy) for label, env in runs}
        for n in args.compare:
            compared.append({"label": "shipped (every cut)", "env": {},
                             "level": next(lv for lv in shipped if lv["streams"] == n)})
            compared += [{"label": label, "env": env, "level": next(lv for lv in by_label[label] if lv["streams"] == n)}
                         for label, env in runs]
    report = {"model": default_model_name(), "flip_tta": default_flip_tta(), "date": time.strftime("%Y-%m-%d"),
              "rate": args.rate, "window_s": args.seconds, "camera_fps": CAMERA_FPS,
              "machine": {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
              "levels": [lv for lv in shipped if lv["streams"] in args.streams], "compare_levels": args.compare,
              "compared": compared}
    write_outputs(args.out, report)
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
