"""The lent-GPU path (README, "Training on a lent GPU"), rehearsed on this CPU with synthetic
faces: tools/gpu_pack.sh splits Training + PublicTest into two archives (PrivateTest stays
here), tools/gpu_train.sh refuses to train on half the data, then unpacks both, trains the
recipe's command and returns each run as one archive without its checkpoint, and
tools/gpu_fetch.sh puts it into a runs folder ready for `export`. Wheels are not downloaded
(GPU_SKIP_WHEELS): the venv's Keras stands in for the carried one."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

from tests.conftest import ROOT


def run_tool(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "tools" / script), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env})


def test_pack_train_and_fetch_round_trip(synthetic_data: Path, tmp_path: Path) -> None:
    gpu, out, runs, fetched = tmp_path / "gpu", tmp_path / "out", tmp_path / "device_runs", tmp_path / "runs"
    env = {"GPU_DIR": str(gpu), "GPU_SKIP_WHEELS": "1", "PY": sys.executable, "OUT": str(out),
           "RUNS_DIR": str(runs), "KERAS_BACKEND": "tensorflow"}

    done = run_tool("gpu_pack.sh", str(synthetic_data), env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    members: dict[str, list[str]] = {}
    for part in ("a", "b"):
        with tarfile.open(gpu / f"train_{part}.tar.gz") as tar:
            members[part] = [m.name for m in tar.getmembers() if m.isfile()]
    images = sorted(m for names in members.values() for m in names if m.endswith(".png") or m.endswith(".jpg"))
    expected = sorted(f"{synthetic_data.name}/{p.relative_to(synthetic_data)}" for p in synthetic_data.rglob("*")
                      if p.is_file() and not p.name.startswith("PrivateTest_"))
    assert images == expected  # every Training and PublicTest image once, no PrivateTest
    assert all(any("Training_" in m for m in names) for names in members.values())  # both halves train

    # only the first half has arrived: `check` says so, and training refuses to start
    (gpu / "train_b.tar.gz").rename(tmp_path / "train_b.tar.gz")
    done = run_tool("gpu_train.sh", "check", env=env)
    assert done.returncode == 0 and "part b of the data is not here" in done.stdout, done.stdout
    run = "--arch plain_vgg --width 8 --epochs 2 --batch-size 16 --lr 0.01"
    done = run_tool("gpu_train.sh", f"tiny_gpu={run}", env=env)
    assert done.returncode == 2 and "the data is incomplete" in done.stdout, done.stdout
    (tmp_path / "train_b.tar.gz").rename(gpu / "train_b.tar.gz")

    done = run_tool("gpu_train.sh", f"tiny_gpu={run}", env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "part b: " in done.stdout and ", 0 absent" in done.stdout
    with tarfile.open(out / "tiny_gpu.tar.gz") as tar:
        names = {Path(m.name).name for m in tar.getmembers()}
    assert {"best.keras", "train_config.json", "state.json", "history.csv", "train.log"} <= names
    assert "checkpoint.keras" not in names  # a finished run comes back without it

    done = run_tool("gpu_fetch.sh", str(out), env={**env, "RUNS_DIR": str(fetched)})
    assert done.returncode == 0 and "tiny_gpu: finished; next:" in done.stdout, done.stdout + done.stderr
    assert (fetched / "tiny_gpu" / "best.keras").is_file()
    done = run_tool("gpu_fetch.sh", str(out), env={**env, "RUNS_DIR": str(fetched)})
    assert "already holds a finished run; not overwritten" in done.stdout
