"""The model registry: every architecture users can train, chosen by name.

All take (48, 48, 1) float32 in [0, 1] (see fer_core.preprocessing) and end in a 7-way softmax
in EMOTIONS order. Pure `keras.layers`, so they build under any Keras 3 backend.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers

from fer_core.labels import NUM_CLASSES
from fer_core.preprocessing import INPUT_SIZE

INPUT_SHAPE = (INPUT_SIZE, INPUT_SIZE, 1)
BATCHNORM_MOMENTUM = 0.99  # Keras's default; the recipe scores the raw weights with these statistics
Builder = Callable[..., keras.Model]
ARCHITECTURES: dict[str, Builder] = {}


def register(name: str) -> Callable[[Builder], Builder]:
    def wrap(fn: Builder) -> Builder:
        ARCHITECTURES[name] = fn
        return fn

    return wrap


def build_model(name: str, **kwargs: object) -> keras.Model:
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name](**kwargs)


def _head(x: keras.KerasTensor, name: str) -> keras.KerasTensor:
    # float32 softmax even under mixed precision, so probabilities stay calibrated.
    return layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name=name)(x)


def _conv_bn_relu(x: keras.KerasTensor, filters: int) -> keras.KerasTensor:
    """A 3x3 conv without bias (the batch norm after it has one), batch norm, ReLU."""
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
    return layers.ReLU()(layers.BatchNormalization()(x))


def _dense_bn_relu(x: keras.KerasTensor, units: int, *, dropout: float) -> keras.KerasTensor:
    """The classifier's hidden layer: dense without bias, batch norm, ReLU, dropout."""
    x = layers.Dense(units, use_bias=False, kernel_initializer="he_normal")(x)
    return layers.Dropout(dropout)(layers.ReLU()(layers.BatchNormalization()(x)))


@register("baseline_cnn")
def baseline_cnn(**_: object) -> keras.Model:
    """Four conv+pool blocks and two dense layers: the classic student baseline."""
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = inputs
    for filters in (32, 64, 128, 256):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    return keras.Model(inputs, _head(x, "emotion"), name="baseline_cnn")


@register("dcnn")
def dcnn(width: int = 64, **_: object) -> keras.Model:
    """Six conv layers with ELU, BatchNorm and Dropout (the popular FER Kaggle notebook network).
    `width` sets the first pair's filters (64 in the notebook; doubling per pair)."""
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = inputs
    for filters, drop in ((width, 0.4), (width * 2, 0.4), (width * 4, 0.5)):
        for _repeat in range(2):
            x = layers.Conv2D(filters, 3, padding="same", kernel_initializer="he_normal")(x)
            x = layers.BatchNormalization()(x)
            x = layers.ELU()(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(drop)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, kernel_initializer="he_normal")(x)
    x = layers.BatchNormalization()(x)
    x = layers.ELU()(x)
    x = layers.Dropout(0.6)(x)
    return keras.Model(inputs, _head(x, "emotion"), name="dcnn")


@register("mini_xception")
def mini_xception(**_: object) -> keras.Model:
    """Depthwise-separable residual network (Arriaga et al. 2017), about 60k parameters."""
    reg = keras.regularizers.L2(1e-4)
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = inputs
    for _repeat in range(2):
        x = layers.Conv2D(8, 3, use_bias=False, kernel_regularizer=reg)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    for filters in (16, 32, 64, 128):
        residual = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False)(x)
        residual = layers.BatchNormalization()(residual)
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, depthwise_regularizer=reg)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, depthwise_regularizer=reg)(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        x = layers.Add()([x, residual])
    x = layers.Conv2D(NUM_CLASSES, 3, padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Activation("softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name="mini_xception")


@register("vgg_bn")
def vgg_bn(width: int = 32, **_: object) -> keras.Model:
    """VGG-style: four blocks of two 3x3 conv+BN+ReLU, max-pool and dropout, then a dense head.
    `width` sets the first block's filters (doubling per block); 32 keeps it fast on CPU."""
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = inputs
    for i, drop in enumerate((0.1, 0.2, 0.3, 0.4)):
        filters = width * 2**i
        for _repeat in range(2):
            x = _conv_bn_relu(x, filters)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(drop)(x)
    x = layers.Flatten()(x)  # 3x3 spatial left: keep where features are, unlike global pooling
    return keras.Model(inputs, _head(_dense_bn_relu(x, 256, dropout=0.5), "emotion"), name="vgg_bn")


@register("plain_vgg")
def plain_vgg(width: int = 24, **_: object) -> keras.Model:
    """GEMM-friendly plain 3x3 net sized for CPU training: one conv at 48x48, then pairs at 24,
    12 and 6 (widths w, 2w, 4w, 8w), max-pools, a dense layer. Width 24 is about 52 MMAC and
    1.1M parameters; every layer is a plain conv, the fastest kind to train on a CPU."""
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = inputs
    for block, filters in enumerate((width, width * 2, width * 4, width * 8)):
        for _repeat in range(1 if block == 0 else 2):
            x = _conv_bn_relu(x, filters)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)  # 3x3 spatial left: where a feature sits (eyes, mouth) matters
    return keras.Model(inputs, _head(_dense_bn_relu(x, 256, dropout=0.2), "emotion"), name="plain_vgg")


@register("mobilenet_v2")
def mobilenet_v2(weights: str | None = None, alpha: float = 0.5, **_: object) -> keras.Model:
    """MobileNetV2 on faces upsampled to 96x96 (48x48 would leave a 2x2 map). From scratch by
    default; `weights="imagenet"` downloads ImageNet weights at training time (never at app run
    time), which needs 3 channels, so grey is repeated."""
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = layers.Resizing(96, 96, interpolation="bilinear")(inputs)
    x = layers.Concatenate()([x, x, x])
    x = layers.Rescaling(2.0, offset=-1.0)(x)  # MobileNetV2 expects [-1, 1]
    backbone = keras.applications.MobileNetV2(
        input_shape=(96, 96, 3), alpha=alpha, include_top=False, weights=weights, pooling="avg"
    )
    # keras.applications gives its 52 BatchNorms momentum 0.999, a ~1,000-step window for the
    # moving statistics: in a short schedule they trail the weights so far that the raw weights
    # scored one class for every face (mobilenet_v2_r2's history.csv). 0.99, as in our other
    # networks, follows them once the learning rate falls (docs/training.md, "The recipe").
    for layer in backbone.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = BATCHNORM_MOMENTUM
    x = backbone(x)
    x = layers.Dropout(0.3)(x)
    return keras.Model(inputs, _head(x, "emotion"), name="mobilenet_v2")
