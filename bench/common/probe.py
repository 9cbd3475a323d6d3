"""Run one benchmark module in a fresh Python process and read the JSON it writes.

Used for everything that must not share the main process: TensorFlow (the Keras runtime, the
`fer` package) and cold-start probes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT


@dataclass(frozen=True)
class ProbeResult:
    data: dict[str, Any] | None  # what the module wrote, None on failure
    error: str | None
    started_unix: float  # wall clock just before the process was spawned
    wall_s: float


def run_module(module: str, args: list[str], out: Path, timeout_s: float,
               env: dict[str, str] | None = None) -> ProbeResult:
    """`python -m MODULE ARGS`, where one of ARGS is `out`, the JSON file it writes."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT), **(env or {})}
    started = time.time()
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=full_env,
                              capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return ProbeResult(None, f"timed out after {timeout_s:.0f} s", started, time.perf_counter() - t0)
    wall = time.perf_counter() - t0
    if proc.returncode != 0 or not out.is_file():
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        why = lines[-1] if lines else f"exit code {proc.returncode}, no output"
        return ProbeResult(None, why[:300], started, wall)
    return ProbeResult(json.loads(out.read_text()), None, started, wall)
