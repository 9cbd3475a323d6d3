"""How many live webcam streams this server process carries, and what a new one may have: the
camera frame rate and size it asks for, and whether it may start at all.

One server process decodes every camera frame of every stream. A new stream therefore asks the
browser for the full frame rate only while the process carries fewer than `FULL_RATE_STREAMS`
live streams, and for `REDUCED_FPS` beyond that: half the decoding per stream, while analysis
stays near its per-stream share anyway (streams take turns at it: fer_core.live.gate). The
request is a getUserMedia constraint, so the browser drops the frames itself; streams already
running keep their rate. Beyond the full-rate streams a new stream also asks for a smaller
picture (`FER_REDUCED_CAMERA_SIZE`, default 480x360 instead of 640x480): decoding, converting,
drawing on and encoding a frame cost in proportion to its pixels, and BlazeFace sees a 128 or
192 pixel copy of the frame whatever its size (bench.capacity.live_profile measures the cut).

The process also runs every stream's WebRTC packets on one event loop under one interpreter
lock: past some number of streams, streams stall for seconds at a time
(bench/results/load_uncapped/). So a process takes at most `FER_MAX_STREAMS` live streams
(default `DEFAULT_MAX_STREAMS`: the sizing rule measured by bench.capacity.load on 2 cores, the
most streams it saw held with every stream at >= 10 analysed FPS, scaled down on fewer CPUs);
a visitor beyond that is told the server is full instead of freezing everyone's video. Run more
replicas for more streams (docs/deploying.md).

The default comes from the measurement itself: bench.capacity.load writes the sizing rule it
found into sizing.json next to this module (shipped in the wheel), and this module reads it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fer_core.env_settings import whole_number
from fer_core.errors import ConfigError

FULL_FPS = 30
REDUCED_FPS = 15
FULL_RATE_STREAMS = 2  # bench.capacity.load: 2 streams at 30 FPS stay near full analysed rate, 3 do not
FULL_SIZE = (640, 480)
DEFAULT_REDUCED_SIZE = (480, 360)
REDUCED_SIZE_ENV = "FER_REDUCED_CAMERA_SIZE"
ACTIVE_WITHIN_S = 3.0  # a stream whose last frame is older than this has ended or stalled
MAX_STREAMS_ENV = "FER_MAX_STREAMS"
SIZING_FILE = Path(__file__).with_name("sizing.json")  # written by bench.capacity.load


def measured_sizing(path: Path = SIZING_FILE) -> dict[str, Any]:
    """The sizing rule bench.capacity.load last measured: `max_streams` (every stream at >= 10
    analysed FPS on the machine it names), `streams_at_15fps`, `cores_per_stream` and where
    they come from."""
    try:
        sizing: dict[str, Any] = json.loads(path.read_text())
        int(sizing["max_streams"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ConfigError(
            f"The live sizing rule {path} is missing or damaged ({err}); reinstall fer_core or "
            "write it again with `python -m bench.capacity.load --clients aiortc`."
        ) from err
    return sizing


def usable_cpus(cgroup: Path = Path("/sys/fs/cgroup")) -> float:
    """The CPUs this process may use: its CPU affinity, capped by a cgroup CPU quota where one is
    set (`docker run --cpus`, a Kubernetes CPU limit, a platform's dyno size)."""
    cpus = float(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    for quota_file, period_file in (("cpu.max", None), ("cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us")):
        try:
            fields = (cgroup / quota_file).read_text().split()
            quota, period = fields[0], (fields[1] if period_file is None else (cgroup / period_file).read_text())
            if quota not in ("max", "-1"):
                return min(cpus, int(quota) / int(period))
        except (OSError, ValueError, IndexError, ZeroDivisionError):
            continue
    return cpus


def default_max_streams(sizing: Mapping[str, Any], cpus: float) -> int:
    """The measured rule's streams, scaled down in proportion on a machine with fewer CPUs than
    the one it was measured on (the streams' work is CPU-bound there), never up: one process
    runs every stream's WebRTC under one interpreter lock, so more cores do not carry more
    streams in it (run more replicas instead). At least 1."""
    streams = int(sizing["max_streams"])
    measured_on = float(sizing.get("cpus") or cpus)
    return max(1, int(streams * min(1.0, cpus / measured_on)))


# the measured rule (never typed in), for the CPUs this process has
DEFAULT_MAX_STREAMS: int = default_max_streams(measured_sizing(), usable_cpus())


class StreamActivity:
    """Which streams of this process delivered a frame lately (one per process, shared)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._last_seen: dict[int, float] = {}

    def saw(self, stream: int) -> None:
        with self._lock:
            self._last_seen[stream] = self._clock()

    def forget(self, stream: int) -> None:
        with self._lock:
            self._last_seen.pop(stream, None)

    def is_active(self, stream: int) -> bool:
        with self._lock:
            seen = self._last_seen.get(stream)
        return seen is not None and self._clock() - seen <= ACTIVE_WITHIN_S

    def active(self, excluding: int | None = None) -> int:
        """Streams that delivered a frame within ACTIVE_WITHIN_S (older entries are dropped),
        not counting `excluding` (the asking visitor's own stream, whose rate is already set)."""
        now = self._clock()
        with self._lock:
            self._last_seen = {k: t for k, t in self._last_seen.items() if now - t <= ACTIVE_WITHIN_S}
            return len(self._last_seen) - (excluding in self._last_seen)


def camera_fps(active_streams: int) -> int:
    """The frame rate to ask a new stream's camera for."""
    return FULL_FPS if active_streams < FULL_RATE_STREAMS else REDUCED_FPS


def camera_size(active_streams: int, reduced: tuple[int, int] = DEFAULT_REDUCED_SIZE) -> tuple[int, int]:
    """The picture size (width, height) to ask a new stream's camera for."""
    return FULL_SIZE if active_streams < FULL_RATE_STREAMS else reduced


def reduced_size_from_env(environ: Mapping[str, str]) -> tuple[int, int]:
    """FER_REDUCED_CAMERA_SIZE as WIDTHxHEIGHT (even, 160x120 up to 640x480); unset: 480x360.
    640x480 keeps every stream at the full size."""
    text = (environ.get(REDUCED_SIZE_ENV) or "").strip().lower()
    if not text:
        return DEFAULT_REDUCED_SIZE
    width, _, height = text.partition("x")
    if not (width.isdigit() and height.isdigit()):
        raise ConfigError(f"{REDUCED_SIZE_ENV} must be WIDTHxHEIGHT, e.g. 480x360, got {text!r}")
    size = int(width), int(height)
    if not (160 <= size[0] <= FULL_SIZE[0] and 120 <= size[1] <= FULL_SIZE[1]) or size[0] % 2 or size[1] % 2:
        raise ConfigError(f"{REDUCED_SIZE_ENV} must be even sizes from 160x120 to 640x480, got {text!r}")
    return size


def video_constraints(fps: int, width: int = 640, height: int = 480) -> dict[str, Any]:
    """getUserMedia video constraints: the size, and `fps` as the most the camera may send."""
    return {"width": {"ideal": width}, "height": {"ideal": height}, "frameRate": {"ideal": fps, "max": fps}}


def max_streams_from_env(environ: Mapping[str, str]) -> int | None:
    """FER_MAX_STREAMS as a positive whole number, 0 for no limit (None); unset: the default.
    Anything else is a clear error."""
    limit = whole_number(MAX_STREAMS_ENV, environ.get(MAX_STREAMS_ENV), default=DEFAULT_MAX_STREAMS, minimum=0,
                         expected="a whole number (0: no limit)")
    return limit or None


def may_start(activity: StreamActivity, stream: int, limit: int | None) -> bool:
    """Whether a visitor may have a live stream: always while its own is running (a rerun must
    never stop it), otherwise while the others are fewer than `limit`."""
    return limit is None or activity.is_active(stream) or activity.active(excluding=stream) < limit
