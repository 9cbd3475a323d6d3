"""The shipped models: `models/index.json` names them and the default; each has a folder.

    models/index.json                 {"default": NAME, "models": {NAME: {...}, ...}}
    models/NAME/model.tflite          what the app runs (float32, LiteRT)
    models/NAME/model_int8.tflite     dynamic-range quantized variant, where it kept accuracy
    models/NAME/metrics.json          written by `python -m fer_core evaluate`
    models/NAME/photos_SET.json       end to end on a photo set, by `python -m fer_core evaluate-photos`
    models/NAME/history.csv           per-epoch training log, train_config.json the recipe
    models/NAME/card.md               the model card, written by `python -m fer_core card`

An index entry with "members" is an ensemble: the mean of those models' probabilities, weighted
by its "weights" where it has them (a blend fitted on PublicTest: fer_core.blend). An entry's
"temperature" (fitted on PublicTest by `python -m fer_core calibrate`; fer_core.calibration)
scales the model's probabilities wherever it is loaded by name, and a vote-trained model's
"class_bias" (its prior correction, fitted with the temperature) shifts them after that.
`FER_MODELS_DIR` points the app at another folder of the same layout. An installed wheel carries
the shipped models as `fer_core/_models`; a repository checkout reads `models/` beside the package.
The trained `.keras` files stay in the training run's folder (`runs/NAME/best.keras`): they hold
the same weights as `model.tflite`, the app never reads them, and shipping them would double the
size of models/ (`train_config.json` rebuilds the network, e.g. for the Keras benchmark).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fer_core.classifier import EmotionClassifier, EnsembleClassifier, LiteRTClassifier, ModelNotFoundError
from fer_core.errors import ConfigError

INDEX_FILE = "index.json"
FLOAT_FILE = "model.tflite"
INT8_FILE = "model_int8.tflite"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.csv"
CARD_FILE = "card.md"
TRAIN_CONFIG_FILE = "train_config.json"
PHOTOS_GLOB = "photos_*.json"
RUNTIMES = ("float", "int8")
MAX_DEFAULT_MS_PER_FACE = 2.0  # the default must keep the live webcam fast: at most this per face, as the app runs it


PACKAGED_MODELS = Path(__file__).resolve().parent / "_models"  # in a wheel (pyproject maps models/ here)
CHECKOUT_MODELS = Path(__file__).resolve().parent.parent / "models"


def models_dir() -> Path:
    """FER_MODELS_DIR if set, else the models inside an installed wheel, else the checkout's."""
    env = os.environ.get("FER_MODELS_DIR")
    if env:
        return Path(env)
    return PACKAGED_MODELS if (PACKAGED_MODELS / INDEX_FILE).is_file() else CHECKOUT_MODELS


@dataclass
class ModelInfo:
    """One shipped model as the index and its folder describe it."""

    name: str
    folder: Path
    title: str = ""
    members: list[str] = field(default_factory=list)  # non-empty for an ensemble
    weights: list[float] | None = None  # an ensemble's member weights (a blend); None: the plain mean
    # an ensemble that always runs its members' files of this runtime (a blend of the int8 files:
    # a third of the float time on CPU, so two networks and their mirror images fit the default's budget)
    member_runtime: str | None = None
    temperature: float = 1.0  # fer_core.calibration; 1.0: probabilities as the network gives them
    class_bias: list[float] | None = None  # fer_core.calibration.prior_bias; None: no prior correction

    @property
    def is_ensemble(self) -> bool:
        return bool(self.members)

    def file(self, runtime: str = "float") -> Path:
        if runtime not in RUNTIMES:
            raise ConfigError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
        return self.folder / (FLOAT_FILE if runtime == "float" else INT8_FILE)

    def has_runtime(self, runtime: str) -> bool:
        if self.is_ensemble:  # one with fixed member files has no other runtime to offer
            return self.member_runtime is None or runtime == "float"
        return self.file(runtime).is_file()

    @property
    def runtime_description(self) -> str:
        """What runs for this model's "float" runtime, in words."""
        return "LiteRT int8 (dynamic range) members" if self.member_runtime == "int8" else "LiteRT float32"

    def metrics(self) -> dict[str, Any] | None:
        return _read_json(self.folder / METRICS_FILE)

    def readable_metrics(self) -> dict[str, Any]:
        """The metrics, or {} when the file is missing or damaged (for choosing among models)."""
        try:
            return self.metrics() or {}
        except (OSError, ValueError):
            return {}

    def photo_metrics(self) -> dict[str, dict[str, Any]]:
        """End-to-end results on photo sets, by file stem (photos_<set>); unreadable files are
        left to the caller (json/OS errors propagate)."""
        return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(self.folder.glob(PHOTOS_GLOB))}

    def train_config(self) -> dict[str, Any] | None:
        return _read_json(self.folder / TRAIN_CONFIG_FILE)

    def history(self) -> list[dict[str, float]]:
        path = self.folder / HISTORY_FILE
        if not path.is_file():
            return []
        with path.open(newline="") as fp:
            return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(fp)]

    def card(self) -> str | None:
        path = self.folder / CARD_FILE
        return path.read_text(encoding="utf-8") if path.is_file() else None


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def read_index(root: Path | None = None) -> dict[str, Any]:
    root = root or models_dir()
    path = root / INDEX_FILE
    if not path.is_file():
        raise ModelNotFoundError(
            f"No model is installed: {path} does not exist. The shipped models live in the "
            f"repository's models/ folder; to make your own, see docs/training.md."
        )
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise ModelNotFoundError(
            f"The model index {path} is damaged ({exc}); restore it from the repository "
            f"(git checkout -- models/index.json) or re-export the models (docs/training.md)."
        ) from exc
    if not isinstance(index, dict) or not isinstance(index.get("models"), dict) or not index["models"] \
            or index.get("default") not in index["models"]:
        raise ModelNotFoundError(
            f"The model index {path} is damaged: it must name a default among its models "
            f'({{"default": NAME, "models": {{NAME: {{...}}}}}}); restore it from the repository.'
        )
    return index


def list_models(root: Path | None = None) -> list[ModelInfo]:
    """Every model in the index, in index order."""
    root = root or models_dir()
    index = read_index(root)
    return [
        ModelInfo(name, root / name, entry.get("title", name), list(entry.get("members", [])),
                  entry.get("weights"), entry.get("member_runtime"), float(entry.get("temperature", 1.0)),
                  entry.get("class_bias"))
        for name, entry in index.get("models", {}).items()
    ]


def default_model_name(root: Path | None = None) -> str:
    return str(read_index(root)["default"])


def default_rule(root: Path | None = None) -> str:
    """How the default was chosen, in words (written by `select-default` into the index)."""
    return str(read_index(root).get("default_rule") or
               f"chosen on PublicTest, at most {MAX_DEFAULT_MS_PER_FACE:g} ms per face as the app runs it")


def default_flip_tta(root: Path | None = None) -> bool:
    """Whether the app runs the default model with flip TTA (decided by `select-default` on
    PublicTest; False for an index written before that)."""
    return bool(read_index(root).get("default_flip_tta", False))


def most_accurate(root: Path | None = None) -> tuple[str, bool]:
    """(model name, flip TTA on?) with the best stored PublicTest accuracy over every model and
    both test-time settings: the "most accurate option", chosen without looking at PrivateTest.
    Models not evaluated yet (or with an unreadable metrics file) are left out;
    ModelNotFoundError if none is left."""
    scored: list[tuple[float, str, bool]] = []
    for m in list_models(root):
        x = m.readable_metrics()
        if "publictest_accuracy" in x:
            scored.append((x["publictest_accuracy"], m.name, False))
        tta = x.get("variants", {}).get("flip_tta", {}).get("publictest_accuracy")
        if tta is not None:
            scored.append((tta, m.name, True))
    if not scored:
        raise ModelNotFoundError("no model has a stored PublicTest accuracy: run python -m fer_core evaluate")
    _, name, flip = max(scored)
    return name, flip


def get_model(name: str | None = None, root: Path | None = None) -> ModelInfo:
    models = {m.name: m for m in list_models(root)}
    name = name or default_model_name(root)
    if name not in models:
        raise ModelNotFoundError(f"unknown model {name!r}; installed: {', '.join(models) or 'none'}")
    return models[name]


def load_model(
    name: str | None = None, *, runtime: str = "float", flip_tta: bool = False, num_threads: int = 2,
    root: Path | None = None, calibrated: bool = True,
) -> EmotionClassifier:
    """A ready classifier for a shipped model (the default when `name` is None), with the
    model's temperature unless `calibrated` is False (for fitting a new one)."""
    info = get_model(name, root)
    if info.is_ensemble:
        members = [load_model(m, runtime=info.member_runtime or runtime, flip_tta=flip_tta, num_threads=num_threads,
                              root=root, calibrated=calibrated) for m in info.members]
        return EnsembleClassifier(members, name=info.name, weights=info.weights)
    path = info.file(runtime)
    if runtime == "int8" and not path.is_file():
        raise ModelNotFoundError(f"{info.name} ships no quantized variant (it lost accuracy; see its card)")
    return LiteRTClassifier(path, flip_tta=flip_tta, num_threads=num_threads, name=info.name,
                            temperature=info.temperature if calibrated else 1.0,
                            class_bias=info.class_bias if calibrated else None)
