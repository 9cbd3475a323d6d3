"""The `fer` package on the same inputs, in the same run, as ratios to ours.

`bench.tables.fer_worker` (a subprocess: `fer` imports TensorFlow) runs the package's default `FER()`
on the same frames and photos (detect + classify + draw, like our pipeline rows), times its
classifier on the same face crops, classifies the labelled faces, and reports its cold start
(spawn -> first frame analysed) and peak memory. This module turns that into comparison rows.

Accuracy is compared on the classifiers alone: each gets the 48x48 labelled faces directly
(fer resizes them to its 64x64 input itself, as its pipeline does), because FER2013's tight
crops are not photos a face detector can be asked to find.
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from bench.common.fer2013 import LabelledFaces, accuracy, agreement
from bench.common.frames import Frame
from bench.common.photo_set import Photo
from bench.common.probe import run_module
from bench.common.scoring import score
from bench.common.stats import Budget
from bench.tables.pipeline_speed import faces_found

FER_PIN = "fer==25.10.3"


def fer_installed() -> bool:
    return importlib.util.find_spec("fer") is not None


def _ratio(ours_ms: float | None, theirs_ms: float | None) -> float | None:
    """How many times faster we are (their time / our time)."""
    if not ours_ms or not theirs_ms:
        return None
    return round(theirs_ms / ours_ms, 2)


def run_fer(inputs: Path, budget: Budget, timeout_s: float = 900) -> tuple[dict[str, Any] | None, str | None, float]:
    with tempfile.TemporaryDirectory(prefix="fer_bench_fer_") as tmp:
        out = Path(tmp) / "fer.json"
        probe = run_module("bench.tables.fer_worker", [str(inputs), str(out), json.dumps(asdict(budget))], out, timeout_s)
    return probe.data, probe.error, probe.started_unix


def compare(raw: dict[str, Any], started_unix: float, frames: list[Frame], photos: list[Photo],
            our_frames: list[dict[str, Any]], our_photos: list[dict[str, Any]],
            our_classify_p50: float | None, labelled: LabelledFaces | None) -> dict[str, Any]:
    """Side-by-side rows. `our_frames` are our default detector's pipeline rows, in frame order."""
    frame_rows = []
    for frame, ours, theirs in zip(frames, our_frames, raw["frames"]):
        frame_rows.append({
            "frame": frame.key, "faces": frame.faces,
            "ours_p50_ms": ours["p50_ms"], "ours_p95_ms": ours["p95_ms"], "ours_faces_found": ours["faces_found"],
            "fer_p50_ms": theirs["p50_ms"], "fer_p95_ms": theirs["p95_ms"],
            "fer_faces_found": faces_found(frame, [tuple(b) for b in theirs["boxes"]]),
            "fer_detections": len(theirs["boxes"]),
            "speedup": _ratio(ours["p50_ms"], theirs["p50_ms"]),
        })
    photo_rows = []
    for photo, ours, theirs in zip(photos, our_photos, raw["photos"]):
        s = score([tuple(b) for b in theirs["boxes"]], photo.faces, photo.optional)
        photo_rows.append({
            "photo": photo.name, "faces": photo.expected,
            "ours_p50_ms": ours["p50_ms"], "ours_faces_found": ours["faces_found"],
            "ours_false_detections": ours["false_detections"],
            "fer_p50_ms": theirs["p50_ms"], "fer_faces_found": sum(s.found),
            "fer_false_detections": s.false_detections,
            "speedup": _ratio(ours["p50_ms"], theirs["p50_ms"]),
        })
    section: dict[str, Any] = {
        "status": "measured",
        "version": raw["version"],
        "configuration": "FER() defaults: OpenCV Haar cascade (min face 50 px) + the package's quantized "
                         "64x64 emotion model via tf.lite",
        "first_result_s": round(raw["first_result_unix"] - started_unix, 3),
        "import_s": raw["import_s"],
        "peak_rss_mib": raw["peak_rss_mib"],
        "classify_batch1_p50_ms": raw["classify_batch1_p50_ms"],
        "classify_batch1_p95_ms": raw["classify_batch1_p95_ms"],
        "ours_classify_batch1_p50_ms": our_classify_p50,
        "classify_speedup": _ratio(our_classify_p50, raw["classify_batch1_p50_ms"]),
        "frames": frame_rows,
        "photos": photo_rows,
    }
    ours_total = sum(r["ours_p50_ms"] for r in photo_rows)
    fer_total = sum(r["fer_p50_ms"] for r in photo_rows)
    section["photos_total"] = {
        "faces": sum(r["faces"] for r in photo_rows),
        "ours_ms": round(ours_total, 1), "fer_ms": round(fer_total, 1), "speedup": _ratio(ours_total, fer_total),
        "ours_faces_found": sum(r["ours_faces_found"] for r in photo_rows),
        "fer_faces_found": sum(r["fer_faces_found"] for r in photo_rows),
        "ours_false_detections": sum(r["ours_false_detections"] for r in photo_rows),
        "fer_false_detections": sum(r["fer_false_detections"] for r in photo_rows),
    }
    if labelled is not None and "predictions" in raw:
        section["accuracy"] = accuracy(np.asarray(raw["predictions"]), labelled.labels)
        section["ferplus_accuracy"] = agreement(np.asarray(raw["predictions"]), labelled)
    return section
