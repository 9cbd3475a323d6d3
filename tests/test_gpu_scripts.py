"""The lent-GPU path (README, "Training on a lent GPU"), rehearsed on this CPU with synthetic
faces: tools/gpu_pack.sh splits Training + PublicTest into two archives (PrivateTest stays
here), tools/gpu_train.sh refuses to train on half the data, then unpacks both, trains the
recipe's command and returns each run as one archive without its checkpoint (in parts when it
is larger than the device returns), and tools/gpu_fetch.sh joins and puts it into a runs folder
ready for `export`. Wheels are not downloaded
(GPU_SKIP_WHEELS): the venv's Keras stands in for the carried one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np

from tests.conftest import ROOT


def run_tool(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "tools" / script), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env})


# votes.csv's columns after file and ferplus_image, and each one's class in EMOTIONS order
VOTE_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")
OUR_CLASS = {"neutral": "neutral", "happiness": "happy", "surprise": "surprise", "sadness": "sad", "anger": "angry",
             "disgust": "disgust", "fear": "fear"}


def shared_data_with_votes(synthetic_data: Path, root: Path) -> Path:
    """The synthetic faces as ../shared/data lays them out: fer2013/ beside ferplus/votes.csv, in
    which all 10 people agree with each face's label."""
    data = root / "fer2013"
    shutil.copytree(synthetic_data, data)
    rows = [",".join(("file", "ferplus_image", *VOTE_COLUMNS))]
    for i, image in enumerate(sorted(data.rglob("*.png"))):
        emotion = image.parent.name
        counts = ["10" if OUR_CLASS.get(c) == emotion else "0" for c in VOTE_COLUMNS]
        rows.append(",".join([str(image.relative_to(data)), f"fer{i:07d}.png", *counts]))
    (root / "ferplus").mkdir()
    (root / "ferplus" / "votes.csv").write_text("\n".join(rows) + "\n")
    return data


def test_pack_train_and_fetch_round_trip(synthetic_data: Path, tmp_path: Path) -> None:
    gpu, out, runs, fetched = tmp_path / "gpu", tmp_path / "out", tmp_path / "device_runs", tmp_path / "runs"
    env = {"GPU_DIR": str(gpu), "GPU_SKIP_WHEELS": "1", "PY": sys.executable, "OUT": str(out),
           "RUNS_DIR": str(runs), "KERAS_BACKEND": "tensorflow"}
    data = shared_data_with_votes(synthetic_data, tmp_path / "shared")
    # a teacher's cached probabilities for the Training faces: the device cannot run a teacher
    teacher = tmp_path / "teacher_probs_absent_model.npy"
    np.save(teacher, np.full((len(list(data.rglob("Training_*"))), 7), 1 / 7, np.float32))

    done = run_tool("gpu_pack.sh", str(data), env={**env, "GPU_TEACHER": str(teacher)})
    assert done.returncode == 0, done.stderr[-2000:]
    members: dict[str, list[str]] = {}
    for part in ("a", "b"):
        with tarfile.open(gpu / f"train_{part}.tar.gz") as tar:
            members[part] = [m.name for m in tar.getmembers() if m.isfile()]
    images = sorted(m for names in members.values() for m in names if m.endswith(".png") or m.endswith(".jpg"))
    expected = sorted(f"{data.name}/{p.relative_to(data)}" for p in data.rglob("*")
                      if p.is_file() and not p.name.startswith("PrivateTest_"))
    assert images == expected  # every Training and PublicTest image once, no PrivateTest
    assert all(any("Training_" in m for m in names) for names in members.values())  # both halves train
    assert "ferplus/votes.csv" in members["a"]  # the crowd votes travel with the first half
    assert (gpu / "teacher" / teacher.name).is_file()

    # only the first half has arrived: `check` says so, and training refuses to start
    (gpu / "train_b.tar.gz").rename(tmp_path / "train_b.tar.gz")
    done = run_tool("gpu_train.sh", "check", env=env)
    assert done.returncode == 0 and "part b of the data is not here" in done.stdout, done.stdout
    # on votes, taught by a model the device could not load: only the carried votes and the
    # cached teacher probabilities let this run start
    run = "--arch plain_vgg --width 8 --epochs 2 --batch-size 16 --lr 0.01 --labels mix:0.5 --teacher absent_model"
    done = run_tool("gpu_train.sh", f"tiny_gpu={run}", env=env)
    assert done.returncode == 2 and "the data is incomplete" in done.stdout, done.stdout
    (tmp_path / "train_b.tar.gz").rename(gpu / "train_b.tar.gz")

    # the speed probe: one short epoch per backend asked for, its images/s read from the run's history
    done = run_tool("gpu_train.sh", "speed", env={**env, "SPEED_BACKENDS": "tensorflow", "SPEED_LIMIT": "32",
                                                  "SPEED_WIDTH": "8"})
    assert done.returncode == 0 and re.search(r"^tensorflow: \d+ images/s in epoch 2 ", done.stdout, re.M), done.stdout

    # parts far smaller than the device's 16 MiB, so that this tiny run's archive is split too
    done = run_tool("gpu_train.sh", f"tiny_gpu={run}", env={**env, "PART_BYTES": "40000"})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "part b: " in done.stdout and ", 0 absent" in done.stdout
    parts = sorted(out.glob("tiny_gpu.tar.gz.part*"))
    assert len(parts) >= 2 and not (out / "tiny_gpu.tar.gz").exists()
    assert all(p.stat().st_size <= 40000 for p in parts)
    joined = tmp_path / "joined.tar.gz"
    joined.write_bytes(b"".join(p.read_bytes() for p in parts))
    with tarfile.open(joined) as tar:
        names = {Path(m.name).name for m in tar.getmembers()}
    assert {"best.keras", "train_config.json", "state.json", "history.csv", "train.log"} <= names
    assert "checkpoint.keras" not in names  # a finished run comes back without it

    done = run_tool("gpu_fetch.sh", str(out), env={**env, "RUNS_DIR": str(fetched)})
    assert done.returncode == 0 and "tiny_gpu: finished; next:" in done.stdout, done.stdout + done.stderr
    assert (fetched / "tiny_gpu" / "best.keras").is_file()
    done = run_tool("gpu_fetch.sh", str(out), env={**env, "RUNS_DIR": str(fetched)})
    assert "already holds a finished run; not overwritten" in done.stdout
