"""Run in a subprocess by tests/test_training.py (TensorFlow stays out of the test process):
train every architecture for one step on synthetic data with our CLI, export it to .tflite,
and save the Keras model's predictions on fixed faces for the test to compare against LiteRT."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from fer_core.cli import main
from fer_core.training.architectures import ARCHITECTURES


def roundtrip(data: str, out: Path) -> None:
    import keras

    from fer_core.training.export import export_tflite

    faces = np.random.default_rng(0).random((3, 48, 48, 1), dtype=np.float32)
    np.save(out / "faces.npy", faces)
    for arch in ARCHITECTURES:
        run = out / arch
        code = main(["train", "--arch", arch, "--data", data, "--out", str(run), "--epochs", "1",
                     "--limit", "16", "--batch-size", "16"])
        assert code == 0, arch
        export_tflite(run / "best.keras", run / "model.tflite")
        model = keras.saving.load_model(run / "best.keras", compile=False)
        np.save(run / "keras_probs.npy", np.asarray(model(faces, training=False)))


if __name__ == "__main__":
    roundtrip(sys.argv[1], Path(sys.argv[2]))
