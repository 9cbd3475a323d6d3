"""`python -m fer_core {predict,train,evaluate,export}`: one entry point, one sub-command a job."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import fields


def _train(args: argparse.Namespace) -> int:
    from fer_core.training.train import TrainConfig, train

    names = {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in vars(args).items() if k in names})
    summary = train(cfg)
    print(f"best PublicTest accuracy {summary.get('best_val_accuracy', float('nan')):.4f} "
          f"at epoch {summary.get('best_epoch')}; model in {cfg.out}/best.keras")
    return 0


def _add_train(sub: argparse._SubParsersAction) -> None:
    from fer_core.training.architectures import ARCHITECTURES
    from fer_core.training.train import TrainConfig

    p = sub.add_parser("train", help="train an architecture on FER2013-style data")
    p.add_argument("--arch", required=True, choices=sorted(ARCHITECTURES))
    p.add_argument("--data", required=True, help="image folder (train/<emotion>/, test/<emotion>/) or challenge CSV")
    p.add_argument("--out", help="output folder (default runs/<arch>)")
    defaults = TrainConfig(arch="", data="", out="")
    for f in fields(TrainConfig):
        if f.name in ("arch", "data", "out", "resume"):
            continue
        default = getattr(defaults, f.name)
        p.add_argument(f"--{f.name.replace('_', '-')}", type=type(default), default=default)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.keras")
    p.set_defaults(func=_train)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fer_core", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    if getattr(args, "out", "missing") is None:
        args.out = os.path.join("runs", args.arch)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
