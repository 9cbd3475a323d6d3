"""Checks of the training recipe that need Keras, run by tests/test_training_recipe.py in a
fresh process (`python -m tests.helpers.recipe_checks NAME`): Keras/TensorFlow loaded in the
test process before aiortc crashes it. Each check raises AssertionError when it fails."""

from __future__ import annotations

import sys

import numpy as np

from tests.conftest import synthetic_faces


def feed() -> None:
    from fer_core.training.augment import AugmentConfig
    from fer_core.training.train import EpochFeed

    images, labels = synthetic_faces(3, 0)  # 21 images
    targets = np.eye(7, dtype=np.float32)[labels]  # one-hot; vote distributions go in the same way
    f = EpochFeed(images, targets, 8, AugmentConfig().scaled(0.0), seed=5, first_epoch=0)
    assert len(f) == 3
    epoch0 = [f[i] for i in range(len(f))]
    seen = np.concatenate([y for _, y in epoch0]).argmax(axis=1)
    assert sorted(seen.tolist()) == sorted(labels.tolist())  # every image once per epoch
    f.on_epoch_end()
    epoch1 = np.concatenate([f[i][0] for i in range(len(f))])
    again = EpochFeed(images, targets, 8, AugmentConfig().scaled(0.0), seed=5, first_epoch=1)
    np.testing.assert_array_equal(epoch1, np.concatenate([again[i][0] for i in range(len(again))]))  # resumable
    assert not np.array_equal(epoch1, np.concatenate([x for x, _ in epoch0]))  # reshuffled


def batchnorm() -> None:
    import keras

    from fer_core.training.train import reestimate_batchnorm

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.BatchNormalization(momentum=0.99)(inputs))
    data = np.random.default_rng(0).normal(3.0, 2.0, (1000, 4)).astype(np.float32)
    reestimate_batchnorm(model, data, batch_size=100)
    bn = model.layers[-1]
    np.testing.assert_allclose(np.asarray(bn.moving_mean), data.mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(np.asarray(bn.moving_variance), data.var(axis=0), rtol=0.02)
    assert bn.momentum == 0.99


def batchnorm_momentum() -> None:
    # the raw weights are scored with the moving statistics: a slower average (keras.applications'
    # 0.999) left MobileNetV2's raw weights predicting one class for every face
    import keras

    from fer_core.training.architectures import ARCHITECTURES, BATCHNORM_MOMENTUM, build_model
    from fer_core.training.train import _walk_layers

    for name in ARCHITECTURES:
        norms = [la for la in _walk_layers(build_model(name)) if isinstance(la, keras.layers.BatchNormalization)]
        assert all(la.momentum <= BATCHNORM_MOMENTUM for la in norms), (name, {la.momentum for la in norms})


def architecture_names() -> None:
    from fer_core.training.architectures import ARCHITECTURES
    from fer_core.training.config import ARCHITECTURE_NAMES

    assert sorted(ARCHITECTURE_NAMES) == sorted(ARCHITECTURES), (ARCHITECTURE_NAMES, list(ARCHITECTURES))


def teacher_uses_the_mix() -> None:
    from fer_core.training.train import Teacher

    class Fixed:
        def predict(self, faces: np.ndarray) -> np.ndarray:
            return np.tile([0.7, 0.1, 0.1, 0.05, 0.05, 0.0, 0.0], (len(faces), 1))

    teacher = Teacher.__new__(Teacher)
    teacher.weight, teacher.temperature = 0.5, 1.0
    teacher.probs = Teacher.label(Fixed(), np.zeros((3, 48, 48), np.uint8))
    mixed = teacher.targets(np.array([2, 0]), np.eye(7, dtype=np.float32)[[3, 0]])
    np.testing.assert_allclose(mixed[0, 3], 0.5 + 0.5 * 0.05, atol=1e-5)
    np.testing.assert_allclose(mixed[1, 0], 0.5 + 0.5 * 0.7, atol=1e-5)


if __name__ == "__main__":
    globals()[sys.argv[1]]()
    print(f"{sys.argv[1]}: ok")
