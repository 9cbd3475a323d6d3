"""The quantized (`model_int8.tflite`) file of every shipped model answers like its float file.

`fer_core.training.export` keeps the int8 file only when it loses at most MAX_INT8_DROP accuracy
on PrivateTest; these checks hold each shipped int8 file to that without FER2013:

- on real faces found and cropped by the app's own pipeline (default detector, the detector's
  framing) in scikit-image's photos: the astronaut (Eileen Collins) and the cameraman, each also
  mirrored, the int8 and float files give the same top-1 on every face;
- on scikit-image's LFW subset (100 real 25x25 face crops) and on a fixed set of synthetic 48x48
  inputs (class stripe patterns, uniform noise), at least MIN_AGREEMENT of the inputs of each set
  get the same top-1 from both files (measured: 94-100% per model and set);
- each model's stored evaluation (metrics.json `variants.int8`) is within MAX_INT8_DROP of its
  float accuracy and not marked unshipped.

Inference is single-threaded LiteRT on ~150 inputs per file: a few seconds in all.
"""

from __future__ import annotations

import numpy as np
import pytest

from fer_core.labels import EMOTIONS
from fer_core.model_zoo import ModelInfo, list_models, load_model, models_dir
from fer_core.preprocessing import crop_face, to_grayscale, to_model_input
from fer_core.training.export import MAX_INT8_DROP
from tests.conftest import synthetic_faces

MODELS = list_models(models_dir()) if (models_dir() / "index.json").is_file() else []
INT8_MODELS = [m for m in MODELS if not m.is_ensemble and m.file("int8").is_file()]
pytestmark = pytest.mark.skipif(not INT8_MODELS, reason="no shipped model has a model_int8.tflite")

MIN_AGREEMENT = 0.90  # share of inputs in a set on which int8 and float agree on the top-1


def _detected_crops(image: np.ndarray) -> list[np.ndarray]:
    """The faces the app would classify in `image`, cropped the way it crops them."""
    from fer_core.detection import create_detector
    from fer_core.pipeline import FaceAnalyzer

    analyzer = FaceAnalyzer(create_detector(), classifier=None)  # type: ignore[arg-type]  # detection only
    gray = to_grayscale(image)
    return [crop_face(gray, d.box, analyzer.framing, d.landmarks) for d in analyzer.detect(image)]


@pytest.fixture(scope="module")
def inputs() -> dict[str, np.ndarray]:
    """Model inputs (N, 48, 48, 1) by set name."""
    from skimage import data

    astronaut = data.astronaut()
    camera = data.camera()
    astronaut_faces = _detected_crops(astronaut) + _detected_crops(np.ascontiguousarray(astronaut[:, ::-1]))
    assert len(astronaut_faces) == 2, "the default detector must find the astronaut's face, and in the mirror"
    camera_faces = _detected_crops(camera) + _detected_crops(np.ascontiguousarray(camera[:, ::-1]))

    lfw = data.lfw_subset()[:100]  # the first 100 of the 200 are faces (the rest are not)
    lfw_faces = (lfw * 255).round().astype(np.uint8)

    stripes, _ = synthetic_faces(4, seed=0)  # 28: four per class pattern
    noise = np.random.default_rng(0).integers(0, 256, (20, 48, 48), dtype=np.uint8)
    return {
        "astronaut": to_model_input(astronaut_faces),
        "photo faces": to_model_input(astronaut_faces + camera_faces),
        "lfw faces": to_model_input(list(lfw_faces)),
        "synthetic": to_model_input(np.concatenate([stripes, noise])),
    }


@pytest.mark.parametrize("info", INT8_MODELS, ids=lambda m: m.name)
def test_int8_and_float_agree_on_top1(info: ModelInfo, inputs: dict[str, np.ndarray]):
    float_model = load_model(info.name, runtime="float", num_threads=1)
    int8_model = load_model(info.name, runtime="int8", num_threads=1)
    top1 = {name: (float_model.predict(x).argmax(axis=1), int8_model.predict(x).argmax(axis=1))
            for name, x in inputs.items()}

    for exact in ("astronaut", "photo faces"):
        as_float, as_int8 = top1[exact]
        assert as_float.tolist() == as_int8.tolist(), (
            f"{info.name}: on the {exact} int8 says {[EMOTIONS[i] for i in as_int8]}, "
            f"float says {[EMOTIONS[i] for i in as_float]}")
    for share_of in ("lfw faces", "synthetic"):
        as_float, as_int8 = top1[share_of]
        agreement = float(np.mean(as_float == as_int8))
        assert agreement >= MIN_AGREEMENT, (
            f"{info.name}: int8 and float agree on {agreement:.0%} of the {len(as_float)} {share_of}")


@pytest.mark.parametrize("info", INT8_MODELS, ids=lambda m: m.name)
def test_stored_int8_accuracy_is_within_the_allowed_drop(info: ModelInfo):
    metrics = info.metrics()
    assert metrics is not None, f"{info.name} has no metrics.json"
    int8 = metrics["variants"].get("int8")
    assert int8 is not None, f"{info.name} ships model_int8.tflite but metrics.json has no int8 evaluation"
    assert int8.get("shipped", True), f"{info.name}: metrics.json says the int8 file is not shipped, yet it is"
    drop = metrics["accuracy"] - int8["accuracy"]
    assert drop <= MAX_INT8_DROP, f"{info.name}: int8 loses {drop:.2%} accuracy (at most {MAX_INT8_DROP:.1%})"
