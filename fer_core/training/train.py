"""The training loop: one command for every architecture and every Keras backend.

The recipe is built for the compute we have (two CPU cores; a GPU when one is lent): SGD with
Nesterov momentum, a linear warm-up then a linear decay to zero that always completes (with
`--minutes`, the number of epochs comes from the speed measured in the first epoch), label
smoothing, NumPy/OpenCV augmentation prepared one epoch ahead on a background thread, and an
exponential moving average (EMA) of the weights whose BatchNorm statistics are re-estimated
before it is scored. PublicTest alone picks the epoch and whether the raw or EMA weights ship.

Writes into OUT_DIR: `best.keras` (the inference model at its best PublicTest score),
`checkpoint.keras` (model + optimizer state, for --resume), `history.csv` (one row per epoch,
with images/s), `state.json` (progress, for --resume) and `train_config.json` (the exact
commands, data, hardware, time spent and outcome).
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import keras
import numpy as np

from fer_core.labels import EMOTIONS, NUM_CLASSES
from fer_core.preprocessing import to_model_input
from fer_core.training.architectures import build_model
from fer_core.training.augment import AugmentConfig, augment_batch
from fer_core.training.config import TrainConfig
from fer_core.training.data import FerDataset, attach_votes, class_weights, load_dataset, with_emotion_majority
from fer_core.training.schedule import distillation_targets, label_targets, learning_rate, training_examples, vote_share
from fer_core.training.votes import default_votes_path

if TYPE_CHECKING:
    from fer_core.classifier import EmotionClassifier


def gpu_present() -> bool:
    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            return any(d.platform == "gpu" for d in jax.devices())
        if backend == "torch":
            import torch

            return bool(torch.cuda.is_available())
        if backend == "tensorflow":
            import tensorflow as tf

            return bool(tf.config.list_physical_devices("GPU"))
    except Exception:  # a backend without a working GPU runtime is a CPU run
        return False
    return False


def gpu_name() -> str:
    """The first GPU's name as the backend reports it ("" when none or unknown)."""
    try:
        if keras.backend.backend() == "torch":
            import torch

            return str(torch.cuda.get_device_name(0)) if torch.cuda.is_available() else ""
        if keras.backend.backend() == "jax":
            import jax

            return next((str(d.device_kind) for d in jax.devices() if d.platform == "gpu"), "")
    except Exception:  # the name is a record, never a reason to fail a run
        return ""
    return ""


def hardware_description() -> str:
    gpu = gpu_present()
    cpu = f"{os.cpu_count()} CPU cores ({platform.machine()})"
    name = f" ({gpu_name()})" if gpu and gpu_name() else ""
    return f"{cpu}, GPU present: {gpu}{name}, Keras {keras.__version__} on {keras.backend.backend()}"


def _optimizer(cfg: TrainConfig) -> keras.optimizers.Optimizer:
    ema = {"use_ema": cfg.ema > 0, "ema_momentum": cfg.ema or 0.99}
    if cfg.optimizer == "sgd":
        return keras.optimizers.SGD(0.0, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay, **ema)
    if cfg.optimizer == "adamw":
        return keras.optimizers.AdamW(0.0, weight_decay=cfg.weight_decay, **ema)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose sgd or adamw")


class Teacher:
    """Distillation targets (Hinton et al. 2015): the labels mixed with a shipped model's (or an
    ensemble's) softened probabilities.

    The teacher labels each training face once, as it is, with flip TTA, and the run keeps those
    probabilities (`teacher_probs_<names>.npy` in the run folder, so a resumed run with the same
    teacher reuses them); every
    augmented copy of a face then gets its face's targets. Running the teacher on each augmented
    epoch instead cost too much on two CPU cores: taught by plain_vgg_x2, plain_vgg width 12
    trained at 215 instead of ~650 images/s, a third of the epochs in the same budget."""

    def __init__(self, names: str, weight: float, temperature: float, images: np.ndarray,
                 run_dir: Path | None = None) -> None:
        self.weight, self.temperature = weight, temperature
        cache = None if run_dir is None else Path(run_dir) / f"teacher_probs_{names.replace(',', '+')}.npy"
        if cache is not None and cache.exists():
            probs = np.load(cache)
            if probs.shape == (len(images), NUM_CLASSES):
                self.probs = probs
                return
        self.probs = self.label(self.model(names), images)
        if cache is not None:
            np.save(cache, self.probs)

    @staticmethod
    def model(names: str) -> EmotionClassifier:
        from fer_core.classifier import EnsembleClassifier
        from fer_core.model_zoo import load_model

        members = [load_model(n.strip(), flip_tta=True) for n in names.split(",") if n.strip()]
        return members[0] if len(members) == 1 else EnsembleClassifier(members, name=names)

    @staticmethod
    def label(model: EmotionClassifier, images: np.ndarray, batch: int = 1024) -> np.ndarray:
        """The teacher's probabilities for uint8 (N, 48, 48) faces."""
        return np.concatenate([model.predict(to_model_input(images[i:i + batch]))
                               for i in range(0, len(images), batch)]).astype(np.float32)

    def targets(self, indices: np.ndarray, onehot: np.ndarray) -> np.ndarray:
        return distillation_targets(self.probs[indices], onehot, self.weight, self.temperature)


class EpochFeed(keras.utils.PyDataset):
    """Batches of one augmented epoch; the next epoch is prepared on a background thread."""

    def __init__(self, images: np.ndarray, targets: np.ndarray, batch_size: int, augment: AugmentConfig,
                 seed: int, first_epoch: int, label_weights: np.ndarray | None = None,
                 teacher: Teacher | None = None) -> None:
        super().__init__()
        self.images, self.batch_size, self.augment, self.seed = images, batch_size, augment, seed
        self.teacher = teacher
        self.targets = targets.astype(np.float32)  # (N, 7): one-hot labels, votes or a blend
        labels = np.argmax(self.targets, axis=1)
        self.sample_weights = None if label_weights is None else label_weights[labels].astype(np.float32)
        self.epoch = first_epoch
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._next: Future = self._pool.submit(self._make, self.epoch)
        self._current: tuple[np.ndarray, ...] | None = None

    def _make(self, epoch: int) -> tuple[np.ndarray, ...]:
        rng = np.random.default_rng([self.seed, epoch])  # the same epoch after a resume
        order = rng.permutation(len(self.images))
        x = augment_batch(self.images[order], rng, self.augment)
        targets = self.targets[order] if self.teacher is None else self.teacher.targets(order, self.targets[order])
        if self.sample_weights is None:
            return x, targets
        return x, targets, self.sample_weights[order]

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        if self._current is None:
            self._current = self._next.result()
            self._next = self._pool.submit(self._make, self.epoch + 1)
        sl = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return tuple(a[sl] for a in self._current)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._current = None


def _walk_layers(model: keras.layers.Layer) -> list[keras.layers.Layer]:
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        found.extend(_walk_layers(layer))
    return found


def reestimate_batchnorm(model: keras.Model, images: np.ndarray, batch_size: int = 256) -> None:
    """Set every BatchNorm's moving statistics to their average over `images` (float model
    input), as the EMA weights need: the moving statistics belong to the raw weights."""
    norms = [la for la in _walk_layers(model) if isinstance(la, keras.layers.BatchNormalization)]
    saved = [la.momentum for la in norms]
    try:
        for k, start in enumerate(range(0, len(images), batch_size)):
            for la in norms:
                la.momentum = k / (k + 1.0)  # a running mean over the batches seen so far
            model(images[start:start + batch_size], training=True)
    finally:
        for la, m in zip(norms, saved):
            la.momentum = m


def accuracy(model: keras.Model, x: np.ndarray, labels: np.ndarray, flip_tta: bool = False) -> float:
    probs = model.predict(x, batch_size=512, verbose=0)
    if flip_tta:
        probs = probs + model.predict(x[:, :, ::-1], batch_size=512, verbose=0)
    return float(np.mean(np.argmax(probs, axis=1) == labels))


class _Recipe(keras.callbacks.Callback):
    """Sets the learning rate every step, measures speed, scores raw and EMA weights on
    PublicTest, keeps the best, checkpoints every epoch and ends the run when the schedule does."""

    CALIBRATE = (5, 35)  # batches of the first epoch timed to size a --minutes run

    def __init__(self, cfg: TrainConfig, out: Path, state: dict, steps: int, n_images: int,
                 x_val: np.ndarray, y_val: np.ndarray, bn_images: np.ndarray) -> None:
        super().__init__()
        self.cfg, self.out, self.state, self.steps, self.n_images = cfg, out, state, steps, n_images
        self.x_val, self.y_val, self.bn_images = x_val, y_val, bn_images
        self.session_started = time.monotonic()
        self._marks: dict[int, float] = {}

    @property
    def total_steps(self) -> int:
        # Until a --minutes run is sized, assume one epoch of warm-up and nothing after it.
        epochs = self.state.get("total_epochs") or max(1, math.ceil(1.0 / self.cfg.warmup))
        return epochs * self.steps

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch, self.epoch_started = epoch, time.monotonic()

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        step = self.epoch * self.steps + batch
        self.model.optimizer.learning_rate = learning_rate(step, self.total_steps, self.cfg.lr, self.cfg.warmup)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.last_batch_end = time.monotonic()
        if "total_epochs" in self.state or batch not in self.CALIBRATE:
            return
        self._marks[batch] = self.last_batch_end
        if batch == self.CALIBRATE[1]:
            lo, hi = self.CALIBRATE
            self._size_run((self._marks[hi] - self._marks[lo]) / (hi - lo))

    def _size_run(self, step_s: float) -> None:
        # validation and the EMA check add about a tenth to an epoch
        epoch_s = step_s * self.steps * 1.1
        total = max(1, int(self.cfg.minutes * 60.0 / epoch_s))
        self.state["total_epochs"] = total
        print(f"\n{self.cfg.batch_size / step_s:.0f} images/s: {self.cfg.minutes:g} minutes "
              f"is {total} epochs of {epoch_s:.0f} s", flush=True)

    def _score_ema(self) -> float:
        core = self.model
        raw = [v.numpy() for v in core.variables]
        core.optimizer.finalize_variable_values(core.trainable_variables)
        reestimate_batchnorm(core, self.bn_images)
        acc = accuracy(core, self.x_val, self.y_val)
        if acc > self.state.get("best_val_accuracy", -1.0):
            self._keep(acc, "ema")
        for v, a in zip(core.variables, raw):
            v.assign(a)
        return acc

    def _keep(self, acc: float, weights: str) -> None:
        self.state.update(best_val_accuracy=acc, best_epoch=self.epoch + 1, best_weights=weights)
        self.model.save(self.out / "best.keras", include_optimizer=False)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs if logs is not None else {}
        train_s = self.last_batch_end - self.epoch_started
        logs["images_per_s"] = round(self.n_images / train_s, 1)
        logs["lr"] = float(self.model.optimizer.learning_rate.numpy())
        if "total_epochs" not in self.state:  # an epoch shorter than the calibration: size from all of it
            self._size_run(train_s / self.steps)
        total_epochs = self.state["total_epochs"]
        raw = float(logs.get("val_accuracy", float("nan")))
        if raw > self.state.get("best_val_accuracy", -1.0):
            self._keep(raw, "raw")
        # the EMA only differs from the raw weights late in the schedule: score its second half
        use_ema = self.cfg.ema > 0 and epoch + 1 >= total_epochs / 2
        logs["ema_val_accuracy"] = self._score_ema() if use_ema else float("nan")
        logs["epoch_seconds"] = round(time.monotonic() - self.epoch_started, 1)
        self.state["epochs_run"] = epoch + 1
        self.state["train_seconds"] = round(self.state.get("train_seconds_before", 0.0)
                                            + time.monotonic() - self.session_started, 1)
        self.model.save(self.out / "checkpoint.keras")
        (self.out / "state.json").write_text(json.dumps(self.state, indent=2))
        if epoch + 1 >= total_epochs:
            self.model.stop_training = True


def _fresh_model(cfg: TrainConfig) -> keras.Model:
    kwargs: dict[str, object] = {"width": cfg.width} if cfg.width else {}
    if cfg.weights:
        kwargs["weights"] = cfg.weights
    model = build_model(cfg.arch, **kwargs)
    model.compile(
        optimizer=_optimizer(cfg),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing),
        metrics=["accuracy"],
    )
    return model


def train(cfg: TrainConfig, dataset: FerDataset | None = None, command: str | None = None) -> dict:
    """Train `cfg.arch`; returns the run summary also written to train_config.json. `command`
    is the command line that asked for it, recorded so the run can be repeated exactly."""
    keras.utils.set_random_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    # float32 on a GPU too: these networks are small enough that a step is bound by dispatch,
    # not arithmetic (cuDNN already runs convolutions in TF32), and a float32 .keras exports
    # to .tflite unchanged
    ds = dataset or load_dataset(cfg.data, seed=cfg.seed)
    share = vote_share(cfg.labels)
    if share > 0 and ds["train"].votes is None:
        attach_votes(ds, cfg.votes or default_votes_path(cfg.data))
    tr, va = ds["train"], ds["val"]
    images, labels, distribution = training_examples(tr, share)
    if share > 0:  # PublicTest then picks the epoch by what the run trains for: agreement with the FER+ majority
        va = with_emotion_majority(va)
    if cfg.limit:  # a seeded random subset: the arrays are sorted by class
        pick = np.random.default_rng(cfg.seed).permutation(len(images))[: cfg.limit]
        images, labels = images[pick], labels[pick]
        distribution = None if distribution is None else distribution[pick]
    targets = label_targets(np.eye(NUM_CLASSES, dtype=np.float32)[labels], distribution, share)
    x_val, y_val = to_model_input(va.images), va.labels
    steps = math.ceil(len(images) / cfg.batch_size)

    state_path = out / "state.json"
    resuming = cfg.resume and (out / "checkpoint.keras").exists() and state_path.exists()
    if resuming:
        model = keras.saving.load_model(out / "checkpoint.keras")
        state = json.loads(state_path.read_text())
        state["train_seconds_before"] = state.get("train_seconds", 0.0)
        if not cfg.minutes:  # an explicit --epochs extends (or shortens) the schedule
            state["total_epochs"] = cfg.epochs
        print(f"resuming {cfg.arch} after epoch {state['epochs_run']} of {state['total_epochs']}", flush=True)
    else:
        model = _fresh_model(cfg)
        state = {} if cfg.minutes else {"total_epochs": cfg.epochs}
    state.setdefault("commands", []).append(command)
    state.setdefault("hardware", []).append(hardware_description())
    first_epoch = int(state.get("epochs_run", 0))

    weights = None
    if cfg.class_weight_power:
        cw = class_weights(np.argmax(targets, axis=1), cfg.class_weight_power)
        weights = np.array([cw[i] for i in range(NUM_CLASSES)])
    teacher = Teacher(cfg.teacher, cfg.teacher_weight, cfg.teacher_temperature, images, out) if cfg.teacher else None
    feed = EpochFeed(images, targets, cfg.batch_size, AugmentConfig().scaled(cfg.augment_strength), cfg.seed,
                     first_epoch, weights, teacher)
    bn_pick = np.random.default_rng(cfg.seed).permutation(len(images))[:2048]
    recipe = _Recipe(cfg, out, state, steps, len(images), x_val, y_val, to_model_input(images[bn_pick]))
    started = time.time()
    if first_epoch < state.get("total_epochs", first_epoch + 1):
        model.fit(
            feed,
            epochs=state.get("total_epochs", 10_000),  # a --minutes run ends when its schedule does
            initial_epoch=first_epoch,
            validation_data=(x_val, np.eye(NUM_CLASSES, dtype=np.float32)[y_val]),
            validation_batch_size=512,
            callbacks=[recipe, keras.callbacks.CSVLogger(str(out / "history.csv"), append=first_epoch > 0)],
            verbose=1 if sys.stdout.isatty() else 2,
        )
    best = keras.saving.load_model(out / "best.keras")
    state["best_val_accuracy_flip_tta"] = accuracy(best, x_val, y_val, flip_tta=True)
    state_path.write_text(json.dumps(state, indent=2))
    summary = {
        "config": asdict(cfg),
        "command": command,
        "dataset": {"source": ds.source, "split_note": ds.split_note, "train_images": int(len(images)),
                    "val_images": int(len(x_val)), "labels": cfg.labels,
                    "votes": ds.votes_source or None,
                    "val_score": "FER+ majority accuracy (faces whose majority is one of the 7 classes)"
                    if share > 0 else "FER2013 label accuracy"},
        "parameters": int(model.count_params()),
        "classes": list(EMOTIONS),
        "wall_seconds_this_run": round(time.time() - started, 1),
        **{k: v for k, v in state.items() if k != "train_seconds_before"},
    }
    (out / "train_config.json").write_text(json.dumps(summary, indent=2))
    return summary
