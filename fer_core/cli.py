"""`python -m fer_core {predict,train,evaluate,evaluate-photos,export,...}`: one entry point, one sub-command a job."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import fields

from fer_core.errors import FerError


def _train(args: argparse.Namespace) -> int:
    from fer_core.training.config import TrainConfig
    from fer_core.training.train import train

    names = {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in vars(args).items() if k in names})
    summary = train(cfg, command="python -m fer_core " + shlex.join(args.argv))
    print(f"best PublicTest accuracy {summary.get('best_val_accuracy', float('nan')):.4f} "
          f"at epoch {summary.get('best_epoch')}; model in {cfg.out}/best.keras")
    return 0


def _label_source(value: str) -> str:
    from fer_core.training.schedule import vote_share

    try:
        vote_share(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _add_train(sub: argparse._SubParsersAction) -> None:
    from fer_core.training.config import ARCHITECTURE_NAMES, TrainConfig

    p = sub.add_parser("train", help="train an architecture on FER2013-style data")
    p.add_argument("--arch", required=True, choices=sorted(ARCHITECTURE_NAMES))
    p.add_argument("--data", required=True, help="image folder (train/<emotion>/, test/<emotion>/) or challenge CSV")
    p.add_argument("--out", help="output folder (default runs/<arch>)")
    defaults = TrainConfig(arch="", data="", out="")
    for f in fields(TrainConfig):
        if f.name in ("arch", "data", "out", "resume"):
            continue
        default = getattr(defaults, f.name)
        p.add_argument(f"--{f.name.replace('_', '-')}", type=_label_source if f.name == "labels" else type(default),
                       default=default)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.keras")
    p.set_defaults(func=_train)


def _predict(args: argparse.Namespace) -> int:
    from fer_core.detection import create_detector
    from fer_core.model_zoo import default_flip_tta, load_model
    from fer_core.pipeline import FaceAnalyzer
    from fer_core.predict_cli import expand_paths, run_predict

    expand_paths(args.paths)  # bad paths fail before any model loads
    flip = default_flip_tta() if args.flip_tta is None else args.flip_tta
    classifier = load_model(args.model, runtime=args.runtime, flip_tta=flip)
    detector = create_detector(args.detector, min_score=args.min_score)
    fmt = "json" if args.json else "csv" if args.csv else "text"
    return run_predict(FaceAnalyzer(detector, classifier), args.paths, fmt=fmt, annotate=args.annotate,
                       face_crops=args.face_crops)


def _add_predict(sub: argparse._SubParsersAction) -> None:
    from fer_core.detection import DEFAULT_DETECTOR, DETECTOR_NAMES

    p = sub.add_parser("predict", help="find every face in photos and classify its expression")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders of images")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON (one record per file)")
    fmt.add_argument("--csv", action="store_true", help="print CSV (one row per face)")
    p.add_argument("--annotate", metavar="OUT_DIR", help="also write annotated PNGs here")
    p.add_argument("--model", help="a model of models/index.json (default: the index's default)")
    p.add_argument("--runtime", choices=("float", "int8"), default="float")
    p.add_argument("--flip-tta", action=argparse.BooleanOptionalAction, default=None,
                   help="average with the mirrored face (default: as the app, models/index.json)")
    p.add_argument("--detector", choices=DETECTOR_NAMES, default=DEFAULT_DETECTOR)
    p.add_argument("--min-score", type=float, help="detection threshold (default: the detector's own)")
    p.add_argument("--face-crops", action="store_true",
                   help="the images are already face crops (like FER2013): classify each whole image, "
                        "skip detection")
    p.set_defaults(func=_predict)


def _evaluate(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from fer_core.training.evaluate import evaluate_file, evaluate_shipped

    if Path(args.model).suffix in (".tflite", ".keras"):
        report = evaluate_file(args.model, args.data, split=args.split, flip_tta=args.flip_tta)
        if args.out:
            Path(args.out).write_text(json.dumps(report, indent=1))
    else:
        from fer_core.model_zoo import get_model
        from fer_core.training.card import write_card
        from fer_core.training.data import load_dataset
        from fer_core.training.evaluate import with_votes_if_found

        dataset = with_votes_if_found(load_dataset(args.data), args.votes)
        report = evaluate_shipped(args.model, args.data, split=args.split, timing=not args.no_timing,
                                  dataset=dataset)
        write_card(get_model(args.model))
    _print_report(args.model, report)
    return 0


def _print_report(name: str, report: dict) -> None:
    """An evaluation in a few lines: FER2013 labels, agreement with people, each variant."""
    print(f"{name}: accuracy {report['accuracy']:.4f}, macro-F1 {report['macro_f1']:.4f} "
          f"on {report['dataset']['images']} {report['dataset']['split']} images")
    if "ferplus" in report:
        fp = report["ferplus"]
        print(f"  agreement with the FER+ majority {fp['accuracy']:.4f} on {fp['count']} faces; "
              f"top-1 with >= 2 votes {fp['top1_has_2_votes']:.4f}")
    for variant, v in report.get("variants", {}).items():
        print(f"  {variant}: accuracy {v['accuracy']:.4f}, macro-F1 {v['macro_f1']:.4f}")


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score a model on PrivateTest and write its metrics.json")
    p.add_argument("model", help="a model name of models/index.json, or a .tflite/.keras file")
    p.add_argument("--data", required=True, help="image folder or challenge CSV")
    p.add_argument("--split", default="test", choices=("test", "val", "train"),
                   help="test = PrivateTest (report this), val = PublicTest (selection only)")
    p.add_argument("--flip-tta", action="store_true", help="for a file: average with the mirrored face")
    p.add_argument("--out", help="for a file: write the report here")
    p.add_argument("--no-timing", action="store_true", help="skip the speed measurement")
    p.add_argument("--votes", help="FER+ votes.csv (default: ferplus/votes.csv beside the data folder, if there)")
    p.set_defaults(func=_evaluate)


def _evaluate_photos(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from fer_core.detection import create_detector
    from fer_core.model_zoo import get_model, load_model
    from fer_core.photo_eval import dataset_name, evaluate_photos, list_photos, photos_file
    from fer_core.pipeline import FaceAnalyzer
    from fer_core.predict_cli import progress

    photos = list_photos(args.dir)  # a bad folder fails before any model loads
    info = get_model(args.model)
    name = dataset_name(args.dir)
    analyzer = FaceAnalyzer(create_detector(args.detector),
                            load_model(info.name, runtime=args.runtime, flip_tta=args.flip_tta))
    report = evaluate_photos(analyzer, photos, dataset=name, progress=progress)
    report.update(model=info.name, runtime=args.runtime, flip_tta=args.flip_tta,
                  written_by="python -m fer_core " + shlex.join(args.argv))
    out = Path(args.out) if args.out else photos_file(info.folder, name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"{info.name} on {name}: faces found {report['faces_found']}/{report['photos']}, "
          f"accuracy {report['accuracy']:.4f}, macro-F1 {report['macro_f1']:.4f}; wrote {out}")
    recall = ", ".join(f"{e} {v['recall']:.0%}" for e, v in report["per_class"].items() if v["support"])
    print(f"  recall: {recall}")
    return 0


def _add_evaluate_photos(sub: argparse._SubParsersAction) -> None:
    from fer_core.detection import DEFAULT_DETECTOR, DETECTOR_NAMES

    p = sub.add_parser("evaluate-photos", help="end-to-end accuracy on labelled photos (DIR/<emotion>/*)")
    p.add_argument("dir", metavar="DIR", help="folder with one sub-folder of photos per emotion")
    p.add_argument("--model", help="a model of models/index.json (default: the index's default)")
    p.add_argument("--out", help="JSON file to write (default: models/MODEL/photos_<DIR name>.json)")
    p.add_argument("--detector", choices=DETECTOR_NAMES, default=DEFAULT_DETECTOR)
    p.add_argument("--runtime", choices=("float", "int8"), default="float")
    p.add_argument("--flip-tta", action="store_true", help="average with the mirrored face")
    p.set_defaults(func=_evaluate_photos)


def _export(args: argparse.Namespace) -> int:
    from fer_core.model_zoo import models_dir
    from fer_core.training.export import ship_run

    metrics = ship_run(args.run, args.name, title=args.title, data=args.data, make_default=args.default)
    print(f"{args.name}: exported to {models_dir() / args.name}/" + ("" if metrics else " (not evaluated: pass --data)"))
    if metrics:
        _print_report(args.name, metrics)
    return 0


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a training run to .tflite and ship it in models/")
    p.add_argument("run", help="training output folder (holds best.keras)")
    p.add_argument("--name", required=True, help="model name in models/")
    p.add_argument("--title", default="", help="one-line description")
    p.add_argument("--data", help="evaluate on this data's PrivateTest (recommended)")
    p.add_argument("--default", action="store_true", help="make it the app's default model")
    p.set_defaults(func=_export)


def _calibrate(args: argparse.Namespace) -> int:
    from fer_core.model_zoo import get_model
    from fer_core.training.card import write_card
    from fer_core.training.data import load_dataset
    from fer_core.training.evaluate import evaluate_shipped
    from fer_core.training.export import calibrate_shipped, ensembles_with

    for info in [get_model(n) for n in args.names]:  # an unknown name fails before the data loads
        if info.is_ensemble:
            print(f"{info.name} is an ensemble: calibrate its members ({', '.join(info.members)})", file=sys.stderr)
            return 2
    dataset = load_dataset(args.data)
    for name in args.names:
        fit = calibrate_shipped(name, dataset=dataset)
        if "skipped" in fit:
            print(f"{name}: no temperature fitted: {fit['skipped']}")
            continue
        print(f"{name}: temperature {fit['temperature']:g} (PublicTest ECE {fit['publictest_ece'][0]:.3f} -> "
              f"{fit['publictest_ece'][1]:.3f}, NLL {fit['publictest_nll'][0]:.3f} -> {fit['publictest_nll'][1]:.3f})")
    # their metrics (and their ensembles') described the old probabilities: score them again
    for name in [*args.names, *ensembles_with(args.names)]:
        m = evaluate_shipped(name, args.data, dataset=dataset, timing=False)
        write_card(get_model(name))
        print(f"{name}: re-evaluated, PrivateTest accuracy {m['accuracy']:.4f}, ECE {m['ece']:.3f} "
              f"(speed figures kept from the last timed evaluation)")
    return 0


def _add_calibrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="fit shipped models' temperatures on PublicTest and re-evaluate them")
    p.add_argument("names", nargs="+", help="single models of models/index.json")
    p.add_argument("--data", required=True, help="image folder or challenge CSV (its PublicTest fits the temperature)")
    p.set_defaults(func=_calibrate)


def _ensemble(args: argparse.Namespace) -> int:
    from fer_core.training.export import ship_ensemble

    m = ship_ensemble(args.name, args.members.split(","), args.data, make_default=args.default)
    print(f"{args.name}: PrivateTest accuracy {m['accuracy']:.4f}")
    return 0


def _add_ensemble(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ensemble", help="register and evaluate an ensemble of shipped models")
    p.add_argument("name")
    p.add_argument("--members", required=True, help="comma-separated model names")
    p.add_argument("--data", required=True)
    p.add_argument("--default", action="store_true")
    p.set_defaults(func=_ensemble)


def _blend(args: argparse.Namespace) -> int:
    from fer_core.model_zoo import get_model
    from fer_core.training.export import read_fer2013_floor, ship_blend

    floor = read_fer2013_floor(args.fer2013_floor) if args.fer2013_floor else None
    m = ship_blend(args.name, args.members.split(","), args.data, fer2013_floor=floor, flip_tta=args.flip_tta,
                   runtime=args.runtime)
    print(f"{args.name}: {get_model(args.name).title}; PrivateTest agreement with people "
          f"{m['ferplus']['accuracy']:.4f}, FER2013 labels {m['accuracy']:.4f}")
    return 0


def _add_blend(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("blend", help="weight shipped models on PublicTest (most agreement with people above a "
                                     "FER2013 floor) and ship the blend as an ensemble")
    p.add_argument("name")
    p.add_argument("--members", required=True, help="comma-separated single models, e.g. plain_vgg_votes,plain_vgg_s1_kd")
    p.add_argument("--data", required=True, help="image folder with ferplus/votes.csv beside it (PublicTest fits)")
    p.add_argument("--fer2013-floor", metavar="JSON",
                   help="the file python -m bench.tables.fer_floor writes: no weighting below it on FER2013's labels")
    p.add_argument("--flip-tta", action="store_true", help="fit the weights on mirrored passes too (how the app would run it)")
    p.add_argument("--runtime", choices=("float", "int8"), default="float",
                   help="int8: the blend always runs its members' quantized files (a third of the time on CPU)")
    p.set_defaults(func=_blend)


def _card(args: argparse.Namespace) -> int:
    from fer_core.model_zoo import get_model, list_models
    from fer_core.training.card import write_card

    for info in [get_model(n) for n in args.names] or list_models():
        write_card(info)
        print(f"wrote {info.folder / 'card.md'}")
    return 0


def _add_card(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("card", help="regenerate model cards from their metrics and training files")
    p.add_argument("names", nargs="*", help="models (default: all)")
    p.set_defaults(func=_card)


def _default(args: argparse.Namespace) -> int:
    import json

    from fer_core.model_zoo import INDEX_FILE, default_flip_tta, models_dir, most_accurate
    from fer_core.training.export import read_fer2013_floor, select_default

    floor = read_fer2013_floor(args.fer2013_floor) if args.fer2013_floor else None
    best = select_default(benchmark=args.benchmark, fer2013_floor=floor)
    rule = json.loads((models_dir() / INDEX_FILE).read_text()).get("default_rule", "")
    print(f"default model: {best} ({rule}); the app runs it {'with' if default_flip_tta() else 'without'} flip TTA")
    name, flip = most_accurate()
    print(f"most accurate option: {name}{' with flip TTA' if flip else ''} (best PublicTest accuracy overall)")
    return 0


def _add_default(sub: argparse._SubParsersAction) -> None:
    from fer_core.model_zoo import MAX_DEFAULT_MS_PER_FACE

    p = sub.add_parser("select-default", help=f"make the best model on PublicTest (<= "
                       f"{MAX_DEFAULT_MS_PER_FACE:g} ms per face, as the app runs it) the default")
    p.add_argument("--benchmark", choices=("fer2013", "ferplus"), default="ferplus",
                   help="rank on agreement with the FER+ majority (default) or on FER2013's labels")
    p.add_argument("--fer2013-floor", metavar="JSON",
                   help="leave out models below this FER2013 PublicTest accuracy (the file python -m bench.tables.fer_floor "
                        "writes: the fer package's)")
    p.set_defaults(func=_default)


def _retire(args: argparse.Namespace) -> int:
    from fer_core.training.export import retire_model

    for name in args.names:
        try:
            retire_model(name)
        except ValueError as exc:  # unknown, the default or an ensemble member: nothing removed
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"retired {name}: removed from models/index.json and models/{name}/")
    return 0


def _add_retire(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("retire", help="remove shipped models (not the default, not an ensemble member)")
    p.add_argument("names", nargs="+")
    p.set_defaults(func=_retire)


def build_parser() -> argparse.ArgumentParser:
    from fer_core import __version__

    # the console script `fer-core` and `python -m fer_core` are the same program
    prog = "fer-core" if os.path.basename(sys.argv[0]) == "fer-core" else "python -m fer_core"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("--version", action="version", version=f"fer-core {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_predict, _add_train, _add_evaluate, _add_evaluate_photos, _add_export, _add_calibrate,
                _add_ensemble, _add_blend, _add_card, _add_default, _add_retire):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    if getattr(args, "out", "missing") is None and args.command == "train":
        args.out = os.path.join("runs", args.arch)
    try:
        return int(args.func(args))
    except FerError as exc:  # fer_core.errors: a message for the user, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
