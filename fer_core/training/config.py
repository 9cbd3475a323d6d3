"""What a training run is asked to do: a plain dataclass, importable without Keras, so the
command line builds its parser (and `predict` starts) without loading a deep-learning backend."""

from __future__ import annotations

from dataclasses import dataclass

# The names `fer_core.training.architectures` registers (a test keeps the two equal).
ARCHITECTURE_NAMES = ("baseline_cnn", "dcnn", "mini_xception", "vgg_bn", "plain_vgg", "mobilenet_v2")


@dataclass
class TrainConfig:
    arch: str
    data: str
    out: str
    epochs: int = 40  # used when --minutes is 0
    minutes: float = 0.0  # wall-clock budget: sets the epochs from the speed of the first epoch
    batch_size: int = 128
    lr: float = 0.1  # peak learning rate
    optimizer: str = "sgd"  # sgd (Nesterov) | adamw
    warmup: float = 0.15  # fraction of all steps spent warming up linearly from zero
    label_smoothing: float = 0.15
    weight_decay: float = 5e-3  # decoupled (Keras): 5e-3 with SGD is about 5e-4 of coupled L2 at momentum 0.9
    ema: float = 0.999  # EMA momentum per step; 0 turns the EMA off
    class_weight_power: float = 0.0  # 0: none, 1: inverse frequency (raises disgust recall, costs accuracy)
    augment_strength: float = 1.0  # scales every augmentation (0: none)
    seed: int = 0
    width: int = 0  # architecture width knob (0: the architecture's default)
    weights: str = ""  # mobilenet_v2 only: "imagenet" to start from ImageNet weights
    teacher: str = ""  # distillation: shipped model(s), comma-separated (an ensemble averages them)
    teacher_weight: float = 0.5  # share of the teacher's softened probabilities in the targets
    teacher_temperature: float = 2.0
    labels: str = "fer2013"  # training targets: fer2013 (one-hot) | ferplus (crowd votes) | mix:A (A x votes)
    votes: str = ""  # FER+ votes.csv (default: ferplus/votes.csv beside the data folder)
    resume: bool = False
    limit: int = 0  # train on a random N-image subset (smoke tests)
