"""The machine a benchmark ran on, as every report states it."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path

import cv2


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_description() -> dict[str, object]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "opencv": cv2.__version__,
        "ai_edge_litert": _version("ai-edge-litert"),
        "load_average_1min_at_start": round(load[0], 2) if load else None,
    }
