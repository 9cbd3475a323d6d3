"""Subprocess for bench.classify_speed: times `.keras` models with Keras (imports TensorFlow,
so it must never run inside the main benchmark process).

    python -m bench.keras_worker FACES.npy OUT.json '{"name": "path/model.keras"}' '{budget}'
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from bench.classify_speed import time_classifier
from bench.stats import Budget


def main(argv: list[str]) -> int:
    faces_path, out_path, jobs_json, budget_json = argv
    faces = np.load(faces_path)
    budget = Budget(**json.loads(budget_json))
    import keras

    from fer_core.classifier import KerasClassifier

    result: dict = {"keras": keras.__version__, "backend": keras.backend.backend(), "models": {}}
    for name, path in json.loads(jobs_json).items():
        try:
            clf = KerasClassifier(path)
            result["models"][name] = time_classifier(clf.predict, faces, budget)
        except Exception as exc:  # one broken model must not hide the others' numbers
            result["models"][name] = f"{type(exc).__name__}: {exc}"[:300]
    Path(out_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
