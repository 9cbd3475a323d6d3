"""The training loop: one command for every architecture and every Keras backend.

Writes into OUT_DIR: `best.keras` (the inference model at its best PublicTest epoch),
`checkpoint.keras` (training model with optimizer state, for --resume), `history.csv` (one row
per epoch) and `train_config.json` (the exact command, data, hardware and outcome).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np

from fer_core.labels import EMOTIONS, NUM_CLASSES
from fer_core.preprocessing import to_model_input
from fer_core.training.architectures import build_model
from fer_core.training.augment import augmentation
from fer_core.training.data import FerDataset, class_weights, load_dataset


@dataclass
class TrainConfig:
    arch: str
    data: str
    out: str
    epochs: int = 60
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adam"  # adam | sgd
    schedule: str = "cosine"  # cosine | onecycle | constant
    warmup_epochs: int = 1
    label_smoothing: float = 0.1
    weight_decay: float = 1e-4
    class_weight_power: float = 0.5  # 0: none, 1: inverse frequency; see README on disgust
    augment_strength: float = 1.0
    patience: int = 15  # early stopping on PublicTest accuracy
    seed: int = 0
    width: int = 0  # architecture width knob (0: the architecture's default)
    weights: str = ""  # mobilenet_v2 only: "imagenet" to start from ImageNet weights
    max_minutes: float = 0.0  # stop after the epoch that crosses this wall-clock budget (0: none)
    resume: bool = False
    limit: int = 0  # train on a random N-image subset (smoke tests)


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


def hardware_description() -> str:
    gpu = gpu_present()
    cpu = f"{os.cpu_count()} CPU cores ({platform.machine()})"
    return f"{cpu}, GPU present: {gpu}, Keras {keras.__version__} on {keras.backend.backend()}"


def _schedule(cfg: TrainConfig, steps_per_epoch: int) -> keras.optimizers.schedules.LearningRateSchedule | float:
    total = max(1, cfg.epochs * steps_per_epoch)
    warm = min(total - 1, cfg.warmup_epochs * steps_per_epoch)
    if cfg.schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            cfg.lr * 0.1 if warm else cfg.lr, total - warm, alpha=0.01, warmup_target=cfg.lr if warm else None,
            warmup_steps=warm,
        )
    if cfg.schedule == "onecycle":
        return OneCycle(cfg.lr, total)
    if cfg.schedule == "constant":
        return cfg.lr
    raise ValueError(f"unknown schedule {cfg.schedule!r}; choose cosine, onecycle or constant")


@keras.saving.register_keras_serializable(package="fer_core")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `peak` over 30% of training, then cosine annealing to peak/1000."""

    def __init__(self, peak: float, total_steps: int) -> None:
        self.peak, self.total_steps = peak, total_steps

    def __call__(self, step):  # type: ignore[no-untyped-def]
        ops = keras.ops
        step = ops.cast(step, "float32")
        up = ops.cast(0.3 * self.total_steps, "float32")
        rise = self.peak * (0.04 + 0.96 * step / up)
        frac = ops.clip((step - up) / ops.maximum(self.total_steps - up, 1.0), 0.0, 1.0)
        fall = self.peak * (0.001 + 0.999 * 0.5 * (1.0 + ops.cos(np.pi * frac)))
        return ops.where(step < up, rise, fall)

    def get_config(self) -> dict:
        return {"peak": self.peak, "total_steps": self.total_steps}


def _optimizer(cfg: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    lr = _schedule(cfg, steps_per_epoch)
    if cfg.optimizer == "adam":
        return keras.optimizers.AdamW(lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose adam or sgd")


class _EpochBookkeeping(keras.callbacks.Callback):
    """Saves the best inference model and a resumable checkpoint, stops on a time budget."""

    def __init__(self, core: keras.Model, out: Path, state: dict, max_minutes: float) -> None:
        super().__init__()
        self.core, self.out, self.state, self.max_minutes = core, out, state, max_minutes
        self.started = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        val = float(logs.get("val_accuracy", float("nan")))
        self.state["epochs_run"] = epoch + 1
        self.state["train_seconds"] = self.state.get("train_seconds_before", 0.0) + time.monotonic() - self.started
        if val > self.state.get("best_val_accuracy", -1.0):
            self.state.update(best_val_accuracy=val, best_epoch=epoch + 1)
            self.core.save(self.out / "best.keras")
        self.model.save(self.out / "checkpoint.keras")
        (self.out / "state.json").write_text(json.dumps(self.state, indent=2))
        if self.max_minutes and (time.monotonic() - self.started) / 60.0 >= self.max_minutes:
            print(f"\nstopping: the {self.max_minutes:g}-minute budget is spent", flush=True)
            self.state["stopped_by"] = "time budget"
            self.model.stop_training = True


def train(cfg: TrainConfig, dataset: FerDataset | None = None, command: str | None = None) -> dict:
    """Train `cfg.arch`; returns the run summary also written to train_config.json. `command`
    is the command line that asked for it, recorded so the run can be repeated exactly."""
    keras.utils.set_random_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if gpu_present():
        keras.config.set_dtype_policy("mixed_float16")
    ds = dataset or load_dataset(cfg.data, seed=cfg.seed)
    tr, va = ds["train"], ds["val"]
    x_train, y_train = to_model_input(tr.images), tr.labels
    if cfg.limit:  # a seeded random subset: the arrays are sorted by class
        pick = np.random.default_rng(cfg.seed).permutation(len(x_train))[: cfg.limit]
        x_train, y_train = x_train[pick], y_train[pick]
    x_val = to_model_input(va.images)
    smooth = keras.ops.one_hot  # one-hot targets so label smoothing applies
    y_train_1h = np.asarray(smooth(y_train, NUM_CLASSES), dtype="float32")
    y_val_1h = np.asarray(smooth(va.labels, NUM_CLASSES), dtype="float32")
    steps = int(np.ceil(len(x_train) / cfg.batch_size))

    state_path = out / "state.json"
    initial_epoch = 0
    state: dict = {}
    if cfg.resume and (out / "checkpoint.keras").exists():
        model = keras.saving.load_model(out / "checkpoint.keras")
        core = model.get_layer(cfg.arch)
        state = json.loads(state_path.read_text())
        initial_epoch = int(state["epochs_run"])
        state["train_seconds_before"] = state.get("train_seconds", 0.0)
        print(f"resuming {cfg.arch} after epoch {initial_epoch}", flush=True)
    else:
        kwargs = {"width": cfg.width} if cfg.width else {}
        if cfg.weights:
            kwargs["weights"] = cfg.weights
        core = build_model(cfg.arch, **kwargs)
        inputs = keras.Input(core.input_shape[1:], name="face")
        outputs = core(augmentation(cfg.seed, cfg.augment_strength)(inputs))
        model = keras.Model(inputs, outputs, name=f"train_{cfg.arch}")
        model.compile(
            optimizer=_optimizer(cfg, steps),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing),
            metrics=["accuracy"],
        )

    callbacks = [
        _EpochBookkeeping(core, out, state, cfg.max_minutes),
        keras.callbacks.CSVLogger(str(out / "history.csv"), append=initial_epoch > 0),
        keras.callbacks.EarlyStopping("val_accuracy", patience=cfg.patience, mode="max"),
    ]
    started = time.time()
    model.fit(
        x_train,
        y_train_1h,
        batch_size=cfg.batch_size,
        epochs=cfg.epochs,
        initial_epoch=initial_epoch,
        validation_data=(x_val, y_val_1h),
        class_weight=class_weights(y_train, cfg.class_weight_power) if cfg.class_weight_power else None,
        callbacks=callbacks,
        verbose=1 if sys.stdout.isatty() else 2,
    )
    summary = {
        "config": asdict(cfg),
        "command": command,
        "dataset": {"source": ds.source, "split_note": ds.split_note, "train_images": int(len(x_train)),
                    "val_images": int(len(x_val))},
        "hardware": hardware_description(),
        "parameters": int(core.count_params()),
        "classes": list(EMOTIONS),
        "wall_seconds_this_run": round(time.time() - started, 1),
        **{k: v for k, v in state.items() if k != "train_seconds_before"},
    }
    (out / "train_config.json").write_text(json.dumps(summary, indent=2))
    return summary
