"""Timing and memory helpers shared by the benchmark parts (no TensorFlow, no Streamlit)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Budget:
    """How long to time one thing: at most `runs` calls, stopping early after `max_seconds`
    once `min_runs` are done (a slow detector at 1280x720 must not take minutes)."""

    runs: int
    max_seconds: float
    min_runs: int = 5
    warmup: int = 2


def percentiles(times_ms: list[float]) -> dict[str, float]:
    """p50/p95/mean/min in milliseconds, rounded for the report."""
    if not times_ms:
        raise ValueError("no timings to summarise")
    arr = np.asarray(times_ms, dtype=np.float64)
    return {
        "runs": int(arr.size),
        "p50_ms": round(float(np.percentile(arr, 50)), 3),
        "p95_ms": round(float(np.percentile(arr, 95)), 3),
        "mean_ms": round(float(arr.mean()), 3),
        "min_ms": round(float(arr.min()), 3),
    }


def time_calls(fn: Callable[[int], object], budget: Budget) -> dict[str, float]:
    """Milliseconds per `fn(i)` call after warm-up; `i` counts calls (to cycle inputs)."""
    for i in range(budget.warmup):
        fn(i)
    times: list[float] = []
    started = time.perf_counter()
    for i in range(budget.runs):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000.0)
        if len(times) >= budget.min_runs and time.perf_counter() - started > budget.max_seconds:
            break
    return percentiles(times)


def proc_status_kib(pid: int | str, key: str) -> int | None:
    """A `VmHWM`/`VmRSS`-style field of /proc/PID/status in KiB (None where unavailable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def children(pid: int) -> list[int]:
    """Every descendant of `pid` (Linux /proc), so a server's worker processes count too."""
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        try:
            kids = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for kid in map(int, kids):
            found.append(kid)
            frontier.append(kid)
    return found


def tree_memory_mib(pid: int) -> dict[str, float | int | None]:
    """Peak (VmHWM) and current (VmRSS) resident memory of a process and its descendants, MiB.
    The tree's peak is the sum of each process's own peak: an upper bound when they peaked at
    different times."""
    pids = [pid, *children(pid)]
    peaks = [proc_status_kib(p, "VmHWM") for p in pids]
    rss = [proc_status_kib(p, "VmRSS") for p in pids]
    if peaks[0] is None:
        return {"processes": len(pids), "peak_rss_mib": None, "rss_mib": None}
    return {
        "processes": len(pids),
        "peak_rss_mib": round(sum(v or 0 for v in peaks) / 1024.0, 1),
        "rss_mib": round(sum(v or 0 for v in rss) / 1024.0, 1),
    }


def self_peak_rss_mib() -> float | None:
    kib = proc_status_kib(os.getpid(), "VmHWM")
    return None if kib is None else round(kib / 1024.0, 1)
