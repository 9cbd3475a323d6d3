"""Per-face classification latency for every model of the zoo and every runtime.

LiteRT float32 and int8 run here; the Keras runtime runs in `bench.tables.keras_worker` (a subprocess,
because it imports TensorFlow). Inputs are real faces: 48x48 crops of the benchmark frames'
faces (so activations look like the app's, not like noise).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from bench.common.frames import Frame
from bench.common.probe import run_module
from bench.common.stats import Budget, time_calls
from fer_core.model_zoo import ModelInfo, load_model
from fer_core.preprocessing import crop_face, resize_face, to_grayscale

BATCH = 8  # the "several faces in one frame" case


def face_crops48(frames: list[Frame], count: int = BATCH) -> np.ndarray:
    """(count, 48, 48) uint8 grey faces cut (with the app's framing) from the frames' known boxes."""
    crops = []
    for frame in frames:
        gray = to_grayscale(frame.image)
        crops += [resize_face(crop_face(gray, box)) for box in frame.boxes]
    if not crops:
        raise RuntimeError("the benchmark frames hold no face to classify")
    return np.stack([crops[i % len(crops)] for i in range(count)])


def time_classifier(predict: Callable[[np.ndarray], np.ndarray], faces: np.ndarray, budget: Budget) -> dict[str, Any]:
    """Batch-1 latency (cycling through the faces) and batch-8 latency per face."""
    single = time_calls(lambda i: predict(faces[i % len(faces) : i % len(faces) + 1]), budget)
    batch = time_calls(lambda i: predict(faces), Budget(max(budget.min_runs, budget.runs // 4),
                                                        budget.max_seconds, budget.min_runs, budget.warmup))
    return {
        "batch1_p50_ms": single["p50_ms"],
        "batch1_p95_ms": single["p95_ms"],
        "batch1_runs": single["runs"],
        f"batch{len(faces)}_per_face_p50_ms": round(batch["p50_ms"] / len(faces), 3),
        f"batch{len(faces)}_per_face_p95_ms": round(batch["p95_ms"] / len(faces), 3),
    }


def _file_bytes(info: ModelInfo, filename: str) -> int | None:
    if info.is_ensemble:
        return None
    path = info.folder / filename
    return path.stat().st_size if path.is_file() else None


def litert_rows(models: list[ModelInfo], faces: np.ndarray, budget: Budget) -> list[dict[str, Any]]:
    rows = []
    for info in models:
        for runtime, label in (("float", info.runtime_description), ("int8", "LiteRT int8 (dynamic range)")):
            # runtime_key: what load_model is asked for ("float" is how a model runs by default)
            row: dict[str, Any] = {"model": info.name, "runtime": label, "runtime_key": runtime, "status": "measured",
                                   "file_bytes": _file_bytes(info, info.file(runtime).name)}
            if not info.has_runtime(runtime):
                row["status"] = ("runs its members' int8 files already (the row above)" if info.member_runtime else
                                 "not shipped (the quantized model lost accuracy; see the model card)")
                rows.append(row)
                continue
            classifier = load_model(info.name, runtime=runtime, root=info.folder.parent)
            row.update(time_classifier(classifier.predict, faces, budget))
            rows.append(row)
    return rows


def keras_build_args(model: ModelInfo) -> dict[str, Any] | None:
    """The architecture and its arguments as training built them (fer_core.training.train)."""
    config = (model.train_config() or {}).get("config", {})
    if not config.get("arch"):
        return None
    return {"arch": config["arch"], **({"width": config["width"]} if config.get("width") else {})}


def keras_rows(models: list[ModelInfo], faces: np.ndarray, budget: Budget, timeout_s: float = 300) -> list[dict[str, Any]]:
    """The Keras runtime of every single (non-ensemble) model, timed in one `python -m
    bench.tables.keras_worker` subprocess. models/ ships no `.keras` files, so the worker rebuilds each
    network from its `train_config.json` and saves it as `.keras` before timing: the speed and
    file size do not depend on the weights' values."""
    jobs = {m.name: keras_build_args(m) for m in models if not m.is_ensemble and keras_build_args(m)}
    rows = [{"model": m.name, "runtime": "Keras", "status": "no train_config.json" if not m.is_ensemble
             else "ensemble: not timed in Keras", "file_bytes": None}
            for m in models if m.name not in jobs]
    if not jobs:
        return rows
    with tempfile.TemporaryDirectory(prefix="fer_bench_keras_") as tmp:
        inp, out = Path(tmp) / "faces.npy", Path(tmp) / "result.json"
        np.save(inp, faces)
        probe = run_module("bench.tables.keras_worker", [str(inp), str(out), json.dumps(jobs), json.dumps(asdict(budget))],
                           out, timeout_s, env={"KERAS_BACKEND": "tensorflow"})
    if probe.data is None:
        return rows + [{"model": n, "runtime": "Keras", "status": f"failed: {probe.error}", "file_bytes": None}
                       for n in jobs]
    result = probe.data
    for name in jobs:
        timing = result["models"].get(name)
        row: dict[str, Any] = {"model": name, "runtime": f"Keras {result.get('keras', '')} "
                               f"({result.get('backend', '?')} backend)".strip(),
                               "status": "measured" if isinstance(timing, dict) else f"failed: {timing}",
                               "file_bytes": timing.pop("file_bytes", None) if isinstance(timing, dict) else None}
        if isinstance(timing, dict):
            row.update(timing)
        rows.append(row)
    return rows
