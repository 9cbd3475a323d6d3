"""Does the training loop run at the speed of the network? Images/s of our loop against a bare
forward+backward step of the same network, per architecture and Keras backend.

    python -m bench.tables.train_speed                                   # the table in the README
    python -m bench.tables.train_speed --archs plain_vgg:32,dcnn --backends torch,tensorflow --images 2560

"bare": `model.fit` on one fixed in-memory array (no augmentation, no callbacks): the cost of
the network's training step alone. "loop": `fer_core.training.train.train` itself, with its
NumPy augmentation one epoch ahead, per-step learning rate and bookkeeping, on the same number
of images. Both are timed the same way, from the start of the epoch to the end of its last
batch (validation and checkpointing excluded), each in a fresh process. Faces are random
pixels: the cost of a step does not depend on what the face shows. Writes
bench/results/train_speed.{json,md}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.common import RESULTS_DIR

# the zoo's networks at the widths tools/train_cpu_zoo.sh trains them ("arch:width")
ARCHS = ("plain_vgg:24", "plain_vgg:12", "vgg_bn:16", "mini_xception", "dcnn:32", "baseline_cnn", "mobilenet_v2")
BATCH = 128
GOAL = 0.8  # the loop should reach 80% of the bare step's images/s


def _worker(spec: str, images: int) -> dict[str, float]:
    """Runs in a fresh process with KERAS_BACKEND already set. `spec`: "arch" or "arch:width"."""
    import keras
    import numpy as np

    from fer_core.training.data import FerDataset, Split
    from fer_core.training.train import TrainConfig, _fresh_model, train

    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (images, 48, 48), dtype=np.uint8)
    labels = rng.integers(0, 7, images)

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.start = time.monotonic()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            self.end = time.monotonic()

    arch, _, width = spec.partition(":")
    cfg = TrainConfig(arch=arch, data="", out="", epochs=1, batch_size=BATCH, width=int(width or 0))
    model = _fresh_model(cfg)
    clock = Clock()
    x = faces[..., None].astype("float32") / 255.0
    model.fit(x, np.eye(7, dtype="float32")[labels], batch_size=BATCH, epochs=1, callbacks=[clock], verbose=0)
    bare = images / (clock.end - clock.start)

    val = Split(faces[:256], labels[:256])
    data = FerDataset("random pixels", {"train": Split(faces, labels), "val": val}, "benchmark")
    with tempfile.TemporaryDirectory() as out:
        cfg = TrainConfig(arch=arch, data="", out=out, epochs=1, batch_size=BATCH, width=int(width or 0))
        train(cfg, dataset=data)
        history = Path(out, "history.csv").read_text().splitlines()
    header, row = history[0].split(","), history[1].split(",")
    loop = float(row[header.index("images_per_s")])
    return {"bare_images_per_s": round(bare, 1), "loop_images_per_s": round(loop, 1),
            "parameters": int(model.count_params())}


def measure(arch: str, backend: str, images: int) -> dict[str, object]:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", "bench.tables.train_speed", "--worker", arch, "--images", str(images)],
                          env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        return {"arch": arch, "backend": backend, "error": proc.stderr.strip().splitlines()[-1][:200]}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    ratio = result["loop_images_per_s"] / result["bare_images_per_s"]
    return {"arch": arch, "backend": backend, **result, "loop_share": round(ratio, 3)}


def render(rows: list[dict[str, object]], meta: dict[str, object]) -> str:
    lines = [f"Measured {meta['date']} by `python -m bench.tables.train_speed` on {meta['machine']}: "
             f"{meta['images']} images per run, batch {BATCH}, one epoch in a fresh process each.", "",
             "| architecture (:width) | backend | parameters | bare step, images/s | our loop, images/s | loop / bare |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['arch']} | {r['backend']} | failed: {r['error']} | | | |")
            continue
        ok = "" if r["loop_share"] >= GOAL else " (below the 80% goal)"
        lines.append(f"| {r['arch']} | {r['backend']} | {r['parameters']:,} | {r['bare_images_per_s']:.0f} | "
                     f"{r['loop_images_per_s']:.0f} | {100 * r['loop_share']:.0f}%{ok} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.tables.train_speed", description=__doc__.split("\n\n")[0])
    p.add_argument("--archs", default=",".join(ARCHS))
    p.add_argument("--backends", default="torch,tensorflow")
    p.add_argument("--images", type=int, default=BATCH * 30)
    p.add_argument("--worker", metavar="ARCH", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker, args.images)))
        return 0
    from bench.common.machine import machine_description

    m = machine_description()
    meta = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "images": args.images,
            "machine": f"{m['cpu']} ({m['logical_cpus']} logical CPUs, load {m['load_average_1min_at_start']} at start)"}
    rows = []
    for backend in args.backends.split(","):
        for arch in args.archs.split(","):
            rows.append(measure(arch, backend, args.images))
            print(json.dumps(rows[-1]), flush=True)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "train_speed.json").write_text(json.dumps({**meta, "rows": rows}, indent=1) + "\n")
    (RESULTS_DIR / "train_speed.md").write_text(render(rows, meta) + "\n")
    print(render(rows, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
