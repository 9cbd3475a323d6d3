"""`python -m fer_core export`: turn a training run into a shipped model of the zoo.

Converts the run's best `.keras` to a float32 `.tflite` and a dynamic-range quantized one
(weights int8, activations float), fits the model's temperature on PublicTest
(fer_core.calibration), evaluates both files on PrivateTest, keeps the quantized file only
when it stays within half a point of the float accuracy, records the model in
`models/index.json` and writes its model card. Runs under the TensorFlow backend (the
converter is TensorFlow's); a `.keras` trained under JAX or PyTorch loads here unchanged. The
`.keras` itself stays in the run folder: the app runs the `.tflite` files, which hold the same
weights.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fer_core.classifier import ModelNotFoundError
from fer_core.errors import ConfigError
from fer_core.model_zoo import (
    CARD_FILE,
    FLOAT_FILE,
    HISTORY_FILE,
    INDEX_FILE,
    INT8_FILE,
    MAX_DEFAULT_MS_PER_FACE,
    METRICS_FILE,
    TRAIN_CONFIG_FILE,
    get_model,
    models_dir,
)

MAX_INT8_DROP = 0.005  # the quantized model ships only if it loses at most half a point
MIN_CALIBRATION_IMAGES = 500  # a temperature fitted on a handful of faces is noise: below this, none is fitted


def export_tflite(keras_path: str | os.PathLike, out_path: str | os.PathLike, *, quantize: bool = False) -> Path:
    """Convert a `.keras` model to `.tflite` (batch dimension left dynamic)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        raise ConfigError("export needs the TensorFlow backend: run it with KERAS_BACKEND=tensorflow")
    model = keras.saving.load_model(keras_path, compile=False)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    out = Path(out_path)
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints every captured tensor
        flat = converter.convert()
    out.write_bytes(flat)
    return out


def update_index(root: Path, name: str, entry: dict[str, Any], *, make_default: bool = False) -> None:
    path = root / INDEX_FILE
    index: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {"default": name, "models": {}}
    index["models"][name] = entry
    if make_default or index.get("default") not in index["models"]:
        index["default"] = name
        index.pop("default_flip_tta", None)  # decided for the previous default; select-default decides anew
    path.write_text(json.dumps(index, indent=2) + "\n")


def ship_run(run_dir: str | os.PathLike, name: str, *, title: str = "", data: str | os.PathLike | None = None,
             root: Path | None = None, make_default: bool = False, timing: bool = True) -> dict[str, Any] | None:
    """Copy a run's best model into `root/name/`, export it, evaluate it when `data` is given,
    and write its card. Returns the metrics (None without data)."""
    from fer_core.training.card import write_card
    from fer_core.training.evaluate import evaluate_shipped

    run, root = Path(run_dir), Path(root or models_dir())
    best = run / "best.keras"
    if not best.is_file():
        raise ModelNotFoundError(f"{best} does not exist: train first (python -m fer_core train ... --out {run})")
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for extra in (HISTORY_FILE, TRAIN_CONFIG_FILE):
        if (run / extra).is_file():
            shutil.copyfile(run / extra, folder / extra)
    export_tflite(best, folder / FLOAT_FILE)
    export_tflite(best, folder / INT8_FILE, quantize=True)
    cfg = json.loads((folder / TRAIN_CONFIG_FILE).read_text()) if (folder / TRAIN_CONFIG_FILE).is_file() else {}
    update_index(root, name, {"title": title or name, "architecture": cfg.get("config", {}).get("arch", name)},
                 make_default=make_default)
    if data is None:
        return None
    from fer_core.training.data import load_dataset

    dataset = load_dataset(data)
    calibrate_shipped(name, root=root, dataset=dataset)
    metrics = evaluate_shipped(name, data, root=root, timing=timing, dataset=dataset)
    int8 = metrics["variants"].get("int8")
    if int8 and metrics["accuracy"] - int8["accuracy"] > MAX_INT8_DROP:
        (folder / INT8_FILE).unlink()
        int8["shipped"] = False
        int8["note"] = f"quantized file not shipped: it lost more than {MAX_INT8_DROP:.1%} accuracy"
    elif int8:
        int8["shipped"] = True
    (folder / METRICS_FILE).write_text(json.dumps(metrics, indent=1))
    write_card(get_model(name, root))
    return metrics


def calibrate_shipped(name: str, data: str | os.PathLike | None = None, *, root: Path | None = None,
                      dataset: Any = None, min_images: int = MIN_CALIBRATION_IMAGES) -> dict[str, Any]:
    """Fit a shipped single model's temperature on PublicTest (from its uncalibrated float
    probabilities) and store it in its index entry, with the fit's record. Re-evaluate it (and
    the ensembles it is in) afterwards: its stored metrics still describe the old probabilities.
    With fewer than `min_images` PublicTest faces the temperature is left at 1 and the record
    says so."""
    from fer_core.calibration import apply_temperature, fit_temperature, negative_log_likelihood
    from fer_core.metrics import expected_calibration_error, vote_calibration_error
    from fer_core.model_zoo import load_model
    from fer_core.training.data import load_dataset, with_emotion_majority
    from fer_core.training.evaluate import EVAL_THREADS, predict_images

    root = Path(root or models_dir())
    info = get_model(name, root)
    if info.is_ensemble:
        raise ConfigError(f"{name} is an ensemble: calibrate its members ({', '.join(info.members)})")
    if dataset is None:
        if data is None:
            raise ConfigError("calibration needs the data (its PublicTest split)")
        dataset = load_dataset(data)
    val = dataset["val"]
    targets = val.labels
    fitted_on = "PublicTest"
    if trained_on_votes(info):
        # calibrated against people: the shown probabilities should match how annotators split
        from fer_core.training.evaluate import with_votes_if_found
        from fer_core.training.votes import emotion_distribution

        val = with_emotion_majority(with_votes_if_found(dataset)["val"])
        assert val.votes is not None  # with_emotion_majority refuses a split without votes
        targets, fitted_on = emotion_distribution(val.votes), "PublicTest FER+ vote shares"
    index = json.loads((root / INDEX_FILE).read_text())
    if len(val.labels) < min_images:
        record: dict[str, Any] = {"skipped": f"only {len(val.labels)} PublicTest images (at least {min_images} needed)"}
        index["models"][name].pop("temperature", None)
        index["models"][name]["calibration"] = record
        (root / INDEX_FILE).write_text(json.dumps(index, indent=2) + "\n")
        return {"temperature": 1.0, **record}
    probs = predict_images(load_model(name, root=root, calibrated=False, num_threads=EVAL_THREADS), val.images)
    t = fit_temperature(probs, targets)

    def ece(p: Any) -> float:  # against people for a vote-trained model, else against the labels
        if targets.ndim == 2:
            return vote_calibration_error(p, targets)
        return expected_calibration_error(p, targets)

    record = {"fitted_on": f"{fitted_on} ({len(val.labels)} images)",
              "publictest_nll": [round(negative_log_likelihood(probs, targets), 4),
                                 round(negative_log_likelihood(probs, targets, t), 4)],
              "publictest_ece": [round(ece(probs), 4), round(ece(apply_temperature(probs, t)), 4)]}
    index["models"][name].update(temperature=t, calibration=record)
    index["models"][name].pop("class_bias", None)
    if targets.ndim == 2:  # trained on votes: it also learnt FER2013's label prior (fer_core.calibration)
        bias, correction = _prior_correction(info, dataset, apply_temperature(probs, t), val)
        index["models"][name].update(prior_correction=correction)
        if bias is not None:
            index["models"][name]["class_bias"] = [round(float(b), 5) for b in bias]
        record = {**record, "prior_correction": correction}
    (root / INDEX_FILE).write_text(json.dumps(index, indent=2) + "\n")
    return {"temperature": t, **record}


def _prior_correction(info: Any, dataset: Any, probs: Any, val: Any) -> tuple[Any, dict[str, Any]]:
    """The class bias for a vote-trained model: its training targets' mean is the prior it
    learnt; the strength is chosen on PublicTest's FER+ majority (calibration.choose_prior_strength)."""
    import numpy as np

    from fer_core.calibration import MAX_AGREEMENT_COST, choose_prior_strength, prior_bias
    from fer_core.labels import EMOTIONS, NUM_CLASSES
    from fer_core.training.evaluate import with_votes_if_found
    from fer_core.training.schedule import label_targets, training_examples, vote_share
    from fer_core.training.votes import majority

    share = vote_share((info.train_config() or {}).get("config", {}).get("labels", "ferplus"))
    _, labels, distribution = training_examples(with_votes_if_found(dataset)["train"], share)
    prior = label_targets(np.eye(NUM_CLASSES, dtype=np.float32)[labels], distribution, share).mean(axis=0)
    strength, table = choose_prior_strength(probs, majority(val.votes), prior)
    correction = {"strength": strength, "training_prior": dict(zip(EMOTIONS, [round(float(p), 4) for p in prior])),
                  "rule": f"best PublicTest FER+ balanced accuracy (every expression counted equally) among the "
                          f"strengths that keep PublicTest FER+ majority agreement within {MAX_AGREEMENT_COST:.0%} "
                          f"of the uncorrected model's", "publictest": table}
    return (prior_bias(prior, strength) if strength else None), correction


def trained_on_votes(info: Any) -> bool:
    """Was this shipped model trained against FER+ votes (train --labels ferplus or mix:A)?"""
    cfg = info.train_config() or {}
    return cfg.get("config", {}).get("labels", "fer2013") != "fer2013"


def ensembles_with(names: list[str], root: Path | None = None) -> list[str]:
    """The shipped ensembles with any of `names` among their members."""
    from fer_core.model_zoo import list_models

    return [m.name for m in list_models(root) if m.is_ensemble and set(m.members) & set(names)]


def ship_ensemble(name: str, members: list[str], data: str | os.PathLike, *, title: str = "",
                  root: Path | None = None, make_default: bool = False,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Register an ensemble of shipped models (`extra`: more index fields, e.g. a blend's
    "weights"), evaluate it and write its card."""
    from fer_core.training.card import write_card
    from fer_core.training.evaluate import evaluate_shipped

    root = Path(root or models_dir())
    for m in members:
        info = get_model(m, root)  # fails clearly on an unknown member
        if info.is_ensemble:
            raise ConfigError(f"{m} is an ensemble itself: name its members ({', '.join(info.members)})")
    (root / name).mkdir(parents=True, exist_ok=True)
    update_index(root, name, {"title": title or f"ensemble of {', '.join(members)}", "members": members,
                              **(extra or {})}, make_default=make_default)
    metrics = evaluate_shipped(name, data, root=root)
    write_card(get_model(name, root))
    return metrics


def ship_blend(name: str, members: list[str], data: str | os.PathLike, *, fer2013_floor: Fer2013Floor | None,
               flip_tta: bool = False, runtime: str = "float", root: Path | None = None) -> dict[str, Any]:
    """Fit member weights on PublicTest (fer_core.blend.fit_blend: the most agreement with people
    at or above the FER2013 floor), run the way the blend will run (`flip_tta`; `runtime` "int8":
    always the members' quantized files), and register the blend as an ensemble with those
    weights and the fit's record; then evaluate it."""
    from fer_core.blend import fit_blend
    from fer_core.model_zoo import load_model
    from fer_core.training.data import load_dataset
    from fer_core.training.evaluate import EVAL_THREADS, predict_images, with_votes_if_found
    from fer_core.training.votes import majority

    root = Path(root or models_dir())
    if len(members) < 2:
        raise ConfigError("a blend needs at least two members")
    lacking = [m for m in members if not get_model(m, root).has_runtime(runtime)]
    if lacking:
        raise ConfigError(f"no {runtime} file for {', '.join(lacking)}: a blend runs one kind of file for all members")
    dataset = with_votes_if_found(load_dataset(data))
    val = dataset["val"]
    if val.votes is None:
        raise ConfigError("fitting a blend needs the FER+ votes beside the data (ferplus/votes.csv)")
    probs = [predict_images(load_model(m, root=root, runtime=runtime, flip_tta=flip_tta, num_threads=EVAL_THREADS),
                            val.images) for m in members]
    try:
        choice = fit_blend(probs, val.labels, majority(val.votes), None if fer2013_floor is None else
                           fer2013_floor.accuracy)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    floor_words = ("" if fer2013_floor is None else
                   f" among the weights at least as accurate on FER2013's PublicTest labels as "
                   f"{fer2013_floor.source} ({fer2013_floor.accuracy:.2%})")
    how = ", ".join(x for x in ("with flip TTA" if flip_tta else "", "the int8 files" if runtime == "int8" else "") if x)
    record = {"fitted_on": f"PublicTest ({len(val.labels)} images){', ' + how if how else ''}",
              "rule": f"highest PublicTest FER+ majority accuracy{floor_words}",
              "publictest_people": round(choice.people, 4), "publictest_fer2013": round(choice.fer2013, 4),
              "table": choice.table}
    title = "blend of " + ", ".join(f"{w:g} x {m}" for w, m in zip(choice.weights, members)) + \
        (" (int8 files)" if runtime == "int8" else "")
    extra: dict[str, Any] = {"weights": list(choice.weights), "blend": record}
    if runtime != "float":
        extra["member_runtime"] = runtime
    return ship_ensemble(name, members, data, title=title, root=root, extra=extra)


def retire_model(name: str, root: Path | None = None) -> None:
    """Remove a shipped model: its index entry and its folder. Refuses the default and any
    member of a shipped ensemble (an ensemble would lose a member silently); retire those
    ensembles first, or run select-default after shipping a better model."""
    root = Path(root or models_dir())
    index = json.loads((root / INDEX_FILE).read_text())
    if name not in index.get("models", {}):
        raise ConfigError(f"{name!r} is not a shipped model (models/index.json)")
    if index.get("default") == name:
        raise ConfigError(f"{name!r} is the default model; make another the default first (select-default)")
    users = ensembles_with([name], root)
    if users:
        raise ConfigError(f"{name!r} is a member of the ensemble(s) {', '.join(users)}; retire those first")
    del index["models"][name]
    (root / INDEX_FILE).write_text(json.dumps(index, indent=2) + "\n")
    shutil.rmtree(root / name, ignore_errors=True)


def select_default(root: Path | None = None, max_ms_per_face: float = MAX_DEFAULT_MS_PER_FACE,
                   benchmark: str = "ferplus", fer2013_floor: Fer2013Floor | None = None) -> str:
    """Make `choose_default`'s model the default and store how the app runs it
    (`default_flip_tta`), the rule applied (`default_rule`) and the floor, if any, in the index.
    Returns the chosen name; the index is unchanged when no model qualifies (ConfigError)."""
    root = Path(root or models_dir())
    choice = choose_default(root, max_ms_per_face, benchmark, fer2013_floor)
    index = json.loads((root / INDEX_FILE).read_text())
    index["default"] = choice.name
    index["default_flip_tta"] = choice.flip_tta
    index["default_rule"] = choice.rule
    if fer2013_floor is not None:
        index["default_fer2013_floor"] = asdict(fer2013_floor)
    else:
        index.pop("default_fer2013_floor", None)
    (root / INDEX_FILE).write_text(json.dumps(index, indent=2) + "\n")
    return choice.name


@dataclass(frozen=True)
class DefaultChoice:
    name: str
    flip_tta: bool
    rule: str  # the rule applied, in words


def choose_default(root: Path | None = None, max_ms_per_face: float = MAX_DEFAULT_MS_PER_FACE,
                   benchmark: str = "ferplus", fer2013_floor: Fer2013Floor | None = None) -> DefaultChoice:
    """The model that agrees most with people *as the app would run it*: the highest FER+
    majority accuracy on PublicTest among the models at most `max_ms_per_face` per face (their
    stored batch-1 median; an ensemble's covers all its members, so only small ones qualify).
    Models evaluated without FER+ votes are compared on FER2013's PublicTest labels instead, and
    only when no model has FER+ figures. PrivateTest never decides.

    A model runs with flip TTA when its PublicTest score with flip TTA is higher and twice its
    per-face time (a face and its mirror: at most two single calls) stays within
    `max_ms_per_face`; candidates are compared on that score, so a model that is better alone
    but worse with the TTA the other would get does not win.
    `benchmark` "ferplus" (the default) ranks on agreement with people; "fer2013" on FER2013's
    labels. `fer2013_floor` leaves out each way of running a model whose FER2013 PublicTest
    accuracy is below the floor (the `fer` package's: `bench.tables.fer_floor`), so that the
    default agrees with people without falling behind the package people use today on FER2013's
    own labels (docs/models.md, "Which model is the default")."""
    from fer_core.model_zoo import list_models

    root = Path(root or models_dir())
    evaluated = [(m, m.readable_metrics()) for m in list_models(root)]
    on_votes = benchmark == "ferplus" and any("publictest_accuracy" in x.get("ferplus", {}) for _, x in evaluated)

    def score(record: dict[str, Any]) -> float | None:
        return (record.get("ferplus", {}) if on_votes else record).get("publictest_accuracy")

    candidates, below_floor = [], []
    for m, x in evaluated:
        ms = x.get("speed", {}).get("ms_per_face_batch1_p50")
        alone = score(x)
        if alone is None or ms is None or ms > max_ms_per_face:
            continue
        tta_record = x.get("variants", {}).get("flip_tta", {})
        ways: list[tuple[float, bool, dict[str, Any]]] = [(alone, False, x)]  # one pass, or with its mirror
        tta = score(tta_record)
        if tta is not None and 2 * ms <= max_ms_per_face:
            ways.append((tta, True, tta_record))
        if fer2013_floor is not None:  # judged on FER2013's labels the way it would run
            ways = [w for w in ways if (w[2].get("publictest_accuracy") or 0.0) >= fer2013_floor.accuracy]
            if not ways:
                below_floor.append(m.name)
                continue
        best_score, flip, _ = max(ways, key=lambda w: (w[0], not w[1]))  # a tie: no flip TTA
        candidates.append((best_score, m.name, flip))
    if not candidates:
        floor = (f" and at least {fer2013_floor.accuracy:.2%} on FER2013's PublicTest labels "
                 f"(below it: {', '.join(below_floor)})" if fer2013_floor is not None else "")
        raise ConfigError(f"no evaluated model runs at <= {max_ms_per_face} ms per face{floor}; "
                          f"evaluate one first")
    _, best, flip = max(candidates)
    rule = DEFAULT_RULE_VOTES if on_votes else DEFAULT_RULE_LABELS
    if fer2013_floor is not None:
        rule += (f", among the models at least as accurate on FER2013's PublicTest labels as "
                 f"{fer2013_floor.source} ({fer2013_floor.accuracy:.2%})")
    return DefaultChoice(best, flip, rule)


@dataclass(frozen=True)
class Fer2013Floor:
    """The least FER2013 PublicTest accuracy a default may have, and whose it is."""
    accuracy: float
    source: str  # e.g. "the fer package 25.10.3"
    written_by: str = ""  # the command that measured it


def read_fer2013_floor(path: str | os.PathLike) -> Fer2013Floor:
    """The floor `python -m bench.tables.fer_floor` wrote (its JSON file)."""
    p = Path(path)
    try:
        record = json.loads(p.read_text(encoding="utf-8"))
        return Fer2013Floor(float(record["publictest_accuracy"]), str(record["source"]),
                            str(record.get("written_by", "")))
    except FileNotFoundError:
        raise ConfigError(f"{p} does not exist: measure the floor first (python -m bench.tables.fer_floor)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{p} is not a FER2013 floor file (publictest_accuracy, source): {exc}") from None


DEFAULT_RULE_VOTES = (f"highest FER+ majority accuracy on PublicTest as the app runs it, at most "
                      f"{MAX_DEFAULT_MS_PER_FACE:g} ms per face")
DEFAULT_RULE_LABELS = (f"highest FER2013 accuracy on PublicTest as the app runs it, at most "
                       f"{MAX_DEFAULT_MS_PER_FACE:g} ms per face")


__all__ = [
    "CARD_FILE",
    "MAX_DEFAULT_MS_PER_FACE",
    "MAX_INT8_DROP",
    "MIN_CALIBRATION_IMAGES",
    "DefaultChoice",
    "Fer2013Floor",
    "calibrate_shipped",
    "choose_default",
    "ensembles_with",
    "export_tflite",
    "read_fer2013_floor",
    "retire_model",
    "select_default",
    "ship_blend",
    "ship_ensemble",
    "ship_run",
    "update_index",
]
