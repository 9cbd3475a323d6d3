"""Subprocess for bench.tables.classify_speed: times the shipped networks under Keras (imports
TensorFlow, so it must never run inside the main benchmark process).

    python -m bench.tables.keras_worker FACES.npy OUT.json '{"name": {"arch": "plain_vgg", "width": 24}}' '{budget}'

Each network is built from its training arguments and saved as `.keras` in a temporary folder,
then loaded and timed as a trained `.keras` file would be; the weights' values change neither
the time nor the file size.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.common.stats import Budget
from bench.tables.classify_speed import time_classifier


def main(argv: list[str]) -> int:
    faces_path, out_path, jobs_json, budget_json = argv
    faces = np.load(faces_path)
    budget = Budget(**json.loads(budget_json))
    import keras

    from fer_core.classifier import KerasClassifier
    from fer_core.training.architectures import build_model

    result: dict = {"keras": keras.__version__, "backend": keras.backend.backend(), "models": {}}
    with tempfile.TemporaryDirectory(prefix="fer_bench_keras_models_") as tmp:
        for name, args in json.loads(jobs_json).items():
            try:
                path = Path(tmp) / f"{name}.keras"
                build_model(args.pop("arch"), **args).save(path)
                clf = KerasClassifier(path)
                result["models"][name] = {**time_classifier(clf.predict, faces, budget),
                                          "file_bytes": path.stat().st_size}
            except Exception as exc:  # one broken model must not hide the others' numbers
                result["models"][name] = f"{type(exc).__name__}: {exc}"[:300]
    Path(out_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
