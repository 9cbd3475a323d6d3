"""Emotion classifiers: one class per runtime, one `predict` contract.

    clf = LiteRTClassifier("models/vgg_bn/model.tflite", flip_tta=True)
    probs = clf.predict(to_model_input(face_crops))   # (N, 7) in EMOTIONS order

The app runs LiteRT on exported `.tflite` files: a Keras `model.predict` call costs tens of
milliseconds per frame, and importing TensorFlow next to aiortc (the WebRTC stack) crashes the
process. `KerasClassifier` is for training-side work (evaluating a `.keras` before export, the
benchmark's Keras column) and imports Keras only when built.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from fer_core.calibration import apply_class_bias, apply_temperature
from fer_core.errors import ConfigError, FerError
from fer_core.labels import NUM_CLASSES
from fer_core.preprocessing import INPUT_SIZE

INPUT_SHAPE = (INPUT_SIZE, INPUT_SIZE, 1)


class ModelNotFoundError(FerError, FileNotFoundError):
    """A model file is missing or unreadable; the message says what to do about it."""


@runtime_checkable
class EmotionClassifier(Protocol):
    name: str

    def predict(self, faces: np.ndarray) -> np.ndarray:
        """(N, 48, 48, 1) float32 in [0, 1] (see `to_model_input`) -> (N, 7) probabilities."""
        ...


def _check_batch(faces: np.ndarray) -> np.ndarray:
    faces = np.asarray(faces, dtype=np.float32)
    if faces.ndim != 4 or faces.shape[1:] != INPUT_SHAPE:
        raise ValueError(f"expected faces of shape (N, {INPUT_SIZE}, {INPUT_SIZE}, 1), got {faces.shape}")
    return np.ascontiguousarray(faces)


def _with_flips(faces: np.ndarray) -> np.ndarray:
    """The batch followed by its mirror images, so one call scores both."""
    return np.concatenate([faces, faces[:, :, ::-1, :]])


def _average_flips(probs: np.ndarray) -> np.ndarray:
    n = len(probs) // 2
    return (probs[:n] + probs[n:]) * np.float32(0.5)


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """LiteRT's C++ core prints an INFO line to fd 2 on first allocation; command-line users
    should see only our messages. Used once, at model load."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded interpreters): nothing to hide
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _check_file(path: Path, kind: str) -> None:
    if not path.is_file():
        raise ModelNotFoundError(
            f"No {kind} model file at {path}. Install the shipped models (they live in the "
            f"repository's models/ folder) or train and export one: see docs/training.md."
        )


class _SingleModelClassifier:
    """What every runtime shares: input checks, the model's temperature and class bias
    (fer_core.calibration) on every pass, and flip TTA around the runtime's `_run`."""

    flip_tta: bool
    temperature: float = 1.0
    class_bias: np.ndarray | None = None  # a vote-trained model's prior correction

    def _calibrated(self, probs: np.ndarray) -> np.ndarray:
        return apply_class_bias(apply_temperature(probs, self.temperature), self.class_bias)

    def _run(self, faces: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, faces: np.ndarray) -> np.ndarray:
        faces = _check_batch(faces)
        if not len(faces):
            return np.zeros((0, NUM_CLASSES), np.float32)
        if self.flip_tta:
            return _average_flips(self._calibrated(self._run(_with_flips(faces))))
        return self._calibrated(self._run(faces))


class LiteRTClassifier(_SingleModelClassifier):
    """A `.tflite` model run by LiteRT (XNNPACK on CPU). Thread-safe (one lock per model).

    The batch dimension is resized only when the number of faces changes, so a steady video
    stream never re-allocates."""

    def __init__(self, path: str | os.PathLike, *, num_threads: int = 2, flip_tta: bool = False,
                 name: str | None = None, temperature: float = 1.0,
                 class_bias: Sequence[float] | None = None) -> None:
        self.path = Path(path)
        _check_file(self.path, "LiteRT (.tflite)")
        from ai_edge_litert.interpreter import Interpreter

        try:
            self._interpreter = Interpreter(model_path=str(self.path), num_threads=max(1, num_threads))
        except (ValueError, RuntimeError) as exc:
            raise ModelNotFoundError(f"{self.path} is not a valid .tflite model ({exc})") from exc
        (inp,) = self._interpreter.get_input_details()
        (out,) = self._interpreter.get_output_details()
        if tuple(inp["shape"][1:]) != INPUT_SHAPE or int(out["shape"][-1]) != NUM_CLASSES:
            raise ModelNotFoundError(
                f"{self.path} takes {tuple(inp['shape'])} and gives {tuple(out['shape'])}; "
                f"an emotion model takes (N, {INPUT_SIZE}, {INPUT_SIZE}, 1) and gives (N, {NUM_CLASSES})"
            )
        self._input, self._output = inp["index"], out["index"]
        self._batch = -1
        with _native_stderr_silenced():
            self._interpreter.allocate_tensors()
        self._lock = threading.Lock()
        self.flip_tta = flip_tta
        self.temperature = temperature
        self.class_bias = None if class_bias is None else np.asarray(class_bias, np.float32)
        self.num_threads = num_threads
        self.name = name or self.path.parent.name

    def _run(self, faces: np.ndarray) -> np.ndarray:
        with self._lock:
            if len(faces) != self._batch:
                self._interpreter.resize_tensor_input(self._input, [len(faces), *INPUT_SHAPE], strict=False)
                self._interpreter.allocate_tensors()
                self._batch = len(faces)
            self._interpreter.set_tensor(self._input, faces)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output).astype(np.float32, copy=True)



class KerasClassifier(_SingleModelClassifier):
    """A `.keras` model called directly (no `model.predict` loop overhead)."""

    def __init__(self, path: str | os.PathLike, *, flip_tta: bool = False, name: str | None = None) -> None:
        self.path = Path(path)
        _check_file(self.path, "Keras (.keras)")
        import keras

        self._model = keras.saving.load_model(self.path, compile=False)
        self.flip_tta = flip_tta
        self.name = name or self.path.parent.name

    def _run(self, faces: np.ndarray) -> np.ndarray:
        import keras

        return np.asarray(keras.ops.convert_to_numpy(self._model(faces, training=False)), dtype=np.float32)



class EnsembleClassifier:
    """The mean of several classifiers' probabilities, weighted where `weights` is given (a
    blend fitted on PublicTest: `fer_core.blend`)."""

    def __init__(self, members: Sequence[EmotionClassifier], name: str | None = None,
                 weights: Sequence[float] | None = None) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = list(members)
        self.name = name or "ensemble(" + "+".join(m.name for m in self.members) + ")"
        if weights is None:
            weights = [1.0] * len(self.members)
        w = np.asarray(weights, np.float64)
        if w.shape != (len(self.members),) or (w < 0).any() or w.sum() <= 0:
            raise ConfigError(f"an ensemble of {len(self.members)} needs as many non-negative weights, "
                              f"not all zero (got {list(weights)})")
        self.weights = (w / w.sum()).astype(np.float32)

    def predict(self, faces: np.ndarray) -> np.ndarray:
        # a member with weight 0 is not run: a blend costs only what it uses
        return np.asarray(sum(w * m.predict(faces) for w, m in zip(self.weights, self.members) if w > 0),
                          np.float32)


def load_classifier(path: str | os.PathLike, *, flip_tta: bool = False, num_threads: int = 2) -> EmotionClassifier:
    """A classifier for a model file, by suffix: `.tflite` (LiteRT) or `.keras` (Keras)."""
    p = Path(path)
    if p.suffix == ".tflite":
        return LiteRTClassifier(p, flip_tta=flip_tta, num_threads=num_threads)
    if p.suffix == ".keras":
        return KerasClassifier(p, flip_tta=flip_tta)
    raise ConfigError(f"unknown model file type {p.suffix!r} ({p}); expected .tflite or .keras")
