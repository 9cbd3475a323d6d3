"""What each install costs, and how fast the command line answers.

    python -m bench.tables.install_cost [--skip-torch]

For each requirement set, a new virtual environment is made and timed while pip installs it
(with this machine's pip download cache as it is: a first install elsewhere also downloads), then
its size on disk is measured. Sets: the library wheel alone (`pip install fer_core-*.whl`: the
one-call API and `fer-core predict`), the app (`requirements.txt`), training
(`requirements-train.txt`), tests (`requirements-dev.txt`) and the opt-in PyTorch backend
(`requirements-torch.txt` on top of tests).

Start-up: in the training environment (Keras and TensorFlow installed, and never imported on this
path), the median wall time of `fer-core --version` (interpreter + parser) and of
`fer-core predict photo.jpg` (+ imports, model and detector load, one photo), 5 runs each.

Writes bench/results/install_cost.json and .md (README section `install_cost`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import RESULTS_DIR, ROOT

RUNS = 5


def du_mb(path: Path) -> float:
    total = 0
    for base, _dirs, files in os.walk(path):
        for name in files:
            p = Path(base) / name
            if not p.is_symlink():
                total += p.stat().st_size
    return total / 1e6


def make_env(where: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    py = where / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    return py


def timed_install(py: Path, args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([str(py), "-m", "pip", "install", "-q", *args], check=True, cwd=ROOT)
    return time.perf_counter() - t0


def build_wheel(out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)], check=True)
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' in-tree scratch folder
    return next(out.glob("fer_core-*.whl"))


def median_wall(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-torch", action="store_true", help="leave out the PyTorch set (the largest)")
    args = parser.parse_args(argv)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="fer_install_") as tmp_name:
        tmp = Path(tmp_name)
        wheel = build_wheel(tmp / "dist")
        constraints = tmp / "pins.txt"  # the app's pins, so the wheel gets the versions we test
        constraints.write_text("".join(line + "\n" for line in (ROOT / "requirements.txt").read_text().splitlines()
                                       if line.strip() and not line.startswith(("#", "-e"))))
        sets = [
            ("library wheel", ["-c", str(constraints), str(wheel)], None),
            ("app", ["-r", "requirements.txt"], None),
            ("train", ["-r", "requirements-train.txt"], None),
            ("dev (tests)", ["-r", "requirements-dev.txt"], None),
        ]
        if not args.skip_torch:
            sets.append(("dev + torch", ["-r", "requirements-torch.txt"], "dev (tests)"))
        envs: dict[str, Path] = {}
        for name, pip_args, on_top_of in sets:
            where = envs[on_top_of] if on_top_of else tmp / name.split()[0]
            py = where / "bin" / "python" if on_top_of else make_env(where)
            before = du_mb(where)
            seconds = timed_install(py, pip_args)
            size = du_mb(where)
            envs[name] = where
            rows.append({"set": name, "install_s": round(seconds, 1), "venv_mb": round(size),
                         "added_mb": round(size - before) if on_top_of else None})
            print(rows[-1], flush=True)

        train = envs["train"]
        subprocess.run([str(train / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
        work = tmp / "work"
        work.mkdir()
        from skimage import data  # an image an installed package ships

        Image.fromarray(np.asarray(data.astronaut())).save(work / "photo.jpg", quality=92)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FER_MODELS_DIR", "VIRTUAL_ENV")}
        fer = str(train / "bin" / "fer-core")
        startup = {
            "version_s": round(median_wall([fer, "--version"], work, env), 3),
            "predict_s": round(median_wall([fer, "predict", "photo.jpg"], work, env), 3),
            "runs": RUNS,
        }
        print(startup, flush=True)

    from bench.common.machine import machine_description

    m = machine_description()
    result = {"sets": rows, "startup": startup, "machine": f"{m['cpu']}, {m['logical_cpus']} logical CPUs",
              "written_by": "python -m bench.tables.install_cost" + (" --skip-torch" if args.skip_torch else "")}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "install_cost.json").write_text(json.dumps(result, indent=1))
    (RESULTS_DIR / "install_cost.md").write_text(render(result))
    return 0


def render(result: dict) -> str:
    lines = ["| install | what it gives | pip install time | virtual environment on disk |", "|---|---|---|---|"]
    gives = {
        "library wheel": "`import fer_core`, `fer_core.analyze`, `fer-core predict`",
        "app": "the Streamlit app (`scripts/install.sh app`, Docker, Heroku)",
        "train": "the app + training, evaluation and export (Keras, TensorFlow)",
        "dev (tests)": "the app + training + tests and linters",
        "dev + torch": "+ the PyTorch training backend (opt-in: `FER_WITH_TORCH=1`)",
    }
    for row in result["sets"]:
        size = f"{row['venv_mb']:,} MB" + (f" (+{row['added_mb']:,} MB)" if row.get("added_mb") is not None else "")
        lines.append(f"| {row['set']} | {gives.get(row['set'], '')} | {row['install_s']:.0f} s | {size} |")
    s = result["startup"]
    lines += [
        "",
        f"Start-up with the training extras installed (median of {s['runs']} runs): `fer-core --version` "
        f"{s['version_s']:.2f} s; `fer-core predict photo.jpg` (imports, model and detector load, one "
        f"512x512 photo) {s['predict_s']:.2f} s. Install times use this machine's pip download cache; "
        f"on a machine without it, add the download. Measured by `{result['written_by']}` on "
        f"{result['machine']}.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
