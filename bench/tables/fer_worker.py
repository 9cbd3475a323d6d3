"""Subprocess for bench.tables.fer_compare: the same frames, photos and labelled faces through the `fer`
package (PyPI `fer`, its default `FER()`: OpenCV Haar cascade + its quantized 64x64 emotion
model run by `tf.lite`). It imports TensorFlow, so it never runs inside the main process.

    python -m bench.tables.fer_worker INPUTS.npz OUT.json '{budget}'
    python -m bench.tables.fer_worker --classify FACES.npy OUT.json     (classifier only: bench.tables.fer_floor)

`fer` 25.10.3 needs `pkg_resources`, which setuptools >= 81 no longer ships: see
bench/common/fer_package.py. Its `fer/__init__.py` does not export `FER` in that release, so it
is imported from `fer.fer`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.common.fer_package import provide_pkg_resources
from bench.common.stats import Budget, self_peak_rss_mib, time_calls

FER_INPUT = 64  # fer's emotion model input side


def fer_inputs(faces48: np.ndarray) -> np.ndarray:
    """fer's own preprocessing of a grey face (see FER.detect_emotions): resize to 64x64,
    scale to [-1, 1]."""
    resized = np.stack([cv2.resize(f, (FER_INPUT, FER_INPUT)) for f in faces48]).astype(np.float32)
    return (resized / 255.0 - 0.5) * 2.0


def classify_only(faces_path: str, out_path: str) -> int:
    """`--classify FACES.npy OUT.json`: the package's classifier alone on 48x48 grey faces (its
    predicted class per face, EMOTIONS order): for accuracy on a labelled split, no timing."""
    provide_pkg_resources()
    from fer.fer import FER

    logging.getLogger("fer").setLevel(logging.WARNING)
    import fer

    detector = FER()
    faces = fer_inputs(np.load(faces_path))
    predictions = [int(np.argmax(p)) for i in range(0, len(faces), 256)
                   for p in np.asarray(detector._classify_emotions(faces[i:i + 256]))]
    Path(out_path).write_text(json.dumps({"version": fer.__version__, "predictions": predictions}))
    return 0


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--classify":
        return classify_only(*argv[1:])
    inputs_path, out_path, budget_json = argv
    budget = Budget(**json.loads(budget_json))
    data = np.load(inputs_path)
    meta = json.loads(str(data["meta"]))
    frames = [cv2.cvtColor(data[f"frame{i}"], cv2.COLOR_RGB2BGR) for i in range(meta["frames"])]
    photos = [data[f"photo{i}"] for i in range(meta["photos"])]
    photos = [cv2.cvtColor(p, cv2.COLOR_RGB2BGR if p.ndim == 3 else cv2.COLOR_GRAY2BGR) for p in photos]

    t0 = time.perf_counter()
    provide_pkg_resources()
    import fer
    from fer.fer import FER
    from fer.utils import draw_annotations

    logging.getLogger("fer").setLevel(logging.WARNING)
    imported = time.perf_counter()
    detector = FER()  # the package's defaults
    created = time.perf_counter()

    def run(bgr: np.ndarray) -> list[dict[str, Any]]:
        faces = detector.detect_emotions(bgr)
        draw_annotations(bgr.copy(), faces)
        return faces

    run(frames[0])
    first_result_at = time.time()  # wall clock: the parent started its timer before spawning us
    result: dict[str, Any] = {
        "version": fer.__version__,
        "import_s": round(imported - t0, 3),
        "init_s": round(created - imported, 3),
        "first_result_unix": first_result_at,
        "frames": [], "photos": [],
    }
    for key, images in (("frames", frames), ("photos", photos)):
        for image in images:
            boxes = [[int(v) for v in f["box"]] for f in run(image)]
            timing = time_calls(lambda i, im=image: run(im), budget)
            result[key].append({**timing, "boxes": boxes})

    classify = detector._classify_emotions  # the package's own classification call
    faces = fer_inputs(data["faces48"])
    single = time_calls(lambda i: classify(faces[i % len(faces) : i % len(faces) + 1]), budget)
    result["classify_batch1_p50_ms"] = single["p50_ms"]
    result["classify_batch1_p95_ms"] = single["p95_ms"]
    if meta["labelled"]:
        labelled = fer_inputs(data["labelled"])
        result["predictions"] = [int(np.argmax(p)) for p in np.asarray(classify(labelled))]
    result["peak_rss_mib"] = self_peak_rss_mib()
    Path(out_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
