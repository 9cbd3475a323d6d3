"""The serving image's Python layer: its size, and what slimming it costs at start-up.

    python -m bench.tables.image_size [--runs 3]

Two environments are built from requirements.txt (this machine has no Docker daemon, so the
layer the Dockerfile builds is measured, not the whole image; the base image python:3.11-slim
comes on top):

* plain: `python -m venv` + `pip install -r requirements.txt`, as the Dockerfile did before;
* slim: `deploy/build_app_env.py`, which the Dockerfile runs (no pip/setuptools in the
  environment, no test suites, headers or Cython sources, byte-code only for what the server
  imports), with its size after each step.

Then the app is started from each (the Dockerfile's PYTHONDONTWRITEBYTECODE=1, so nothing is
compiled to disk on the way) and timed until /_stcore/health answers and until a photo uploaded
on the Photo page in headless Chromium is analysed (bench.tables.app_start), median of --runs. One more
start of the slim server under `python -X importtime` lists every module it loads on that path;
the report says how many of them had their byte-code built in.

Writes bench/results/image_size.json and .md (README section `image_size`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, ROOT
from bench.tables.app_start import measure_app
from bench.tables.install_cost import du_mb

IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$")
# The Dockerfile's ENV: byte-code is never written at run time
RUNTIME_ENV = {"PYTHONDONTWRITEBYTECODE": "1"}


def build_plain(venv: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if not line.startswith("-e ")]
    (venv / "pins.txt").write_text("\n".join(pins) + "\n")
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "-r", str(venv / "pins.txt")], check=True)
    (venv / "pins.txt").unlink()


def build_slim(venv: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, str(ROOT / "deploy" / "build_app_env.py"), str(venv)], check=True,
                          capture_output=True, text=True)
    steps = json.loads(done.stdout.strip().splitlines()[-1])["bytes"]
    return {name: round(b / 1e6) for name, b in steps.items()}


def starts(python: Path, runs: int, photo: Any) -> dict[str, Any]:
    results = []
    for _ in range(runs):
        r = measure_app(True, photo, python=str(python), extra_env=RUNTIME_ENV)
        if "first_result_s" not in r:
            raise SystemExit(f"the app did not answer from {python}: {r}")
        results.append(r)
    return {"health_s": statistics.median(r["health_s"] for r in results),
            "first_result_s": statistics.median(r["first_result_s"] for r in results), "runs": runs}


def loaded_modules(python: Path, photo: Any, log: Path) -> list[str]:
    r = measure_app(True, photo, python=str(python), python_args=("-X", "importtime"), extra_env=RUNTIME_ENV,
                    keep_log=log)
    if "first_result_s" not in r:
        raise SystemExit(f"the app did not answer under -X importtime: {r}")
    names = [m.group(1) for line in log.read_text(errors="replace").splitlines() if (m := IMPORT_LINE.match(line))]
    return sorted(set(names))


def compiled_share(python: Path, modules: list[str]) -> dict[str, int]:
    """Of `modules`, those loaded from a .py file inside the environment, and of those, the ones
    whose byte-code file exists (asked in the environment's own interpreter)."""
    code = (
        "import importlib.util as u, json, os, sys\n"
        "prefix = sys.prefix\n"
        "seen = compiled = 0\n"
        "for name in json.load(sys.stdin):\n"
        "    try:\n"
        "        spec = u.find_spec(name)\n"
        "    except Exception:\n"
        "        continue\n"
        "    origin = getattr(spec, 'origin', None)\n"
        "    if not origin or not origin.endswith('.py') or not origin.startswith(prefix):\n"
        "        continue\n"
        "    seen += 1\n"
        "    compiled += os.path.exists(u.cache_from_source(origin))\n"
        "print(json.dumps({'modules_from_environment': seen, 'with_byte_code': compiled}))\n"
    )
    done = subprocess.run([str(python), "-c", code], input=json.dumps(modules), capture_output=True, text=True,
                          env={**RUNTIME_ENV, "PATH": "/usr/bin:/bin"}, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="server starts per environment (median)")
    args = parser.parse_args(argv)
    from skimage import data  # a photo an installed package ships

    photo = data.astronaut()
    load_at_start = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="fer_image_size_") as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        build_plain(tmp / "plain")
        plain_build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        slim_steps = build_slim(tmp / "slim")
        slim_build_s = time.perf_counter() - t0
        sizes = {"plain": round(du_mb(tmp / "plain")), "slim": round(du_mb(tmp / "slim"))}
        print(sizes, slim_steps, flush=True)
        start = {"plain": starts(tmp / "plain" / "bin" / "python", args.runs, photo),
                 "slim": starts(tmp / "slim" / "bin" / "python", args.runs, photo)}
        print(start, flush=True)
        modules = loaded_modules(tmp / "slim" / "bin" / "python", photo, tmp / "importtime.log")
        coverage = compiled_share(tmp / "slim" / "bin" / "python", modules)
        print(coverage, flush=True)

    from bench.common.machine import machine_description

    m = machine_description()
    result = {"sizes_mb": sizes, "slim_steps_mb": slim_steps, "start": start, "byte_code": coverage,
              "build_s": {"plain": round(plain_build_s), "slim": round(slim_build_s)},
              "machine": f"{m['cpu']}, {m['logical_cpus']} logical CPUs", "load_at_start": load_at_start,
              "date": time.strftime("%Y-%m-%d"),
              "written_by": "python -m bench.tables.image_size" + (f" --runs {args.runs}" if args.runs != 3 else "")}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "image_size.json").write_text(json.dumps(result, indent=1))
    (RESULTS_DIR / "image_size.md").write_text(render(result))
    return 0


def render(result: dict) -> str:
    sizes, steps, start, bc = result["sizes_mb"], result["slim_steps_mb"], result["start"], result["byte_code"]
    lines = [
        "| serving environment | on disk | server healthy | first photo analysed |",
        "|---|---|---|---|",
        f"| plain `pip install -r requirements.txt` in a venv | {sizes['plain']:,} MB | "
        f"{start['plain']['health_s']:.1f} s | {start['plain']['first_result_s']:.1f} s |",
        f"| `deploy/build_app_env.py` (the Dockerfile's) | {sizes['slim']:,} MB | "
        f"{start['slim']['health_s']:.1f} s | {start['slim']['first_result_s']:.1f} s |",
        "",
        "The slim build, step by step: " + "; ".join(f"{name} {mb:,} MB" for name, mb in steps.items())
        + f". Of the {bc['modules_from_environment']:,} modules the server loads from the environment "
        f"up to the first analysed photo, {bc['with_byte_code']:,} have their byte-code built in. Start "
        f"times are medians of {start['slim']['runs']} starts with PYTHONDONTWRITEBYTECODE=1 (the "
        "image's setting), from spawning `streamlit run` to the health answer, and to a photo uploaded "
        "on the Photo page in headless Chromium being analysed. The python:3.11-slim base image comes "
        "on top of these sizes (no Docker daemon here to measure the whole image). Measured by "
        f"`{result['written_by']}` on {result['machine']} (load average {result['load_at_start']} at the "
        f"start: start times include any other work on the machine), {result['date']}.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
