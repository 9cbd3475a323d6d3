"""`python -m bench`: how fast and how right, measured on this machine.

    python -m bench                  # full run (several minutes), bench/results/report.{json,md}
    python -m bench --quick          # smoke run: every part, few repetitions
    python -m bench --skip-fer       # without the `fer` package comparison
    FER_MODELS_DIR=/path/models python -m bench    # another model zoo

Measures per-face classification latency (every model; LiteRT float32 and int8, Keras),
per-frame pipeline latency (every detector; 640x480 and 1280x720; 1, 3 and 8 faces), the
webcam callback under a simulated 30 FPS camera, cold start and peak memory (the Streamlit app
and a library process), accuracy on FER2013 PrivateTest (when ../shared/data/fer2013 is there),
and the same frames, photos and faces through the `fer` package (pip install -r
bench/requirements.txt --no-deps), reported as ratios. Every number in the report is computed
here; the "met?" column compares them with the issue's targets. TensorFlow never enters this
process: the Keras runtime and `fer` run in subprocesses.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common.fer2013 import LabelledFaces, accuracy, agreement, fer2013_root, load_private_test
from bench.common.frames import Frame, build_frames, moving_sequence, save_inputs
from bench.common.machine import machine_description
from bench.common.photo_set import Photo
from bench.common.results import write_report
from bench.common.stats import Budget
from bench.tables.app_start import measure_app, measure_library
from bench.tables.classify_speed import face_crops48, keras_rows, litert_rows
from bench.tables.fer_compare import FER_PIN, compare, fer_installed, run_fer
from bench.tables.pipeline_speed import photo_rows, pipeline_rows
from bench.tables.report import compute_targets, render_markdown
from bench.tables.webcam import simulate
from fer_core.classifier import EmotionClassifier
from fer_core.detection import DEFAULT_DETECTOR, DETECTOR_NAMES, create_detector
from fer_core.model_zoo import ModelInfo, default_flip_tta, default_model_name, list_models, load_model, models_dir
from fer_core.pipeline import FaceAnalyzer
from fer_core.preprocessing import to_model_input

RESULTS_DIR = Path(__file__).resolve().parent / "results"
EVAL_BATCH = 256


class Plan:
    """Repetitions per mode: a full run takes minutes; a quick run seconds, for the test suite."""

    def __init__(self, quick: bool) -> None:
        self.classify = Budget(30, 1.0, 5, 2) if quick else Budget(300, 10.0, 30, 10)
        self.pipeline = Budget(5, 1.0, 2, 1) if quick else Budget(100, 8.0, 10, 3)
        self.photos = Budget(2, 0.5, 1, 1) if quick else Budget(20, 5.0, 3, 1)
        self.fer = Budget(2, 1.0, 1, 1) if quick else Budget(30, 8.0, 3, 1)
        self.webcam_seconds = 3.0 if quick else 30.0
        self.fer2013_per_class: int | None = 5 if quick else None  # None: all 3,589 faces


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _predicted(clf: EmotionClassifier, faces: LabelledFaces) -> np.ndarray:
    probs = np.concatenate([clf.predict(to_model_input(faces.images[i : i + EVAL_BATCH]))
                            for i in range(0, len(faces.images), EVAL_BATCH)])
    return probs.argmax(axis=1)


def measure_accuracy(models: list[ModelInfo], default: EmotionClassifier, default_flip: bool,
                     per_class: int | None) -> tuple[dict[str, Any], LabelledFaces | None]:
    """Each model (LiteRT float32, one pass) on the labelled faces, and the default as the app
    runs it (`default`: with flip TTA where select-default decided so); `fer` is added later."""
    labelled = load_private_test(per_class=per_class)
    if labelled is None:
        return {"status": f"not measured: no FER2013 PrivateTest images under {fer2013_root() / 'test'}"}, None
    results, people = {}, {}
    for info in models:
        predicted = _predicted(load_model(info.name, root=info.folder.parent), labelled)
        results[info.name] = accuracy(predicted, labelled.labels)
        people[info.name] = agreement(predicted, labelled)
    as_run = _predicted(default, labelled)
    faces_with_majority = None if labelled.majority is None else int((labelled.majority >= 0).sum())
    return {"status": "measured", "dataset": labelled.description, "images": int(len(labelled.labels)),
            "models": results, "fer": None, "ferplus_faces": faces_with_majority,
            "ferplus_models": people if faces_with_majority else {}, "fer_ferplus": None,
            "default_as_run": {"flip_tta": default_flip, "accuracy": accuracy(as_run, labelled.labels),
                               "ferplus_accuracy": agreement(as_run, labelled)}}, labelled


def fer_section(args: argparse.Namespace, plan: Plan, inputs: Path, report: dict[str, Any], frames: list[Frame],
                photos: list[Photo], our_photos: list[dict[str, Any]], classifier: EmotionClassifier,
                labelled: LabelledFaces | None) -> dict[str, Any]:
    """The `fer` package on the same inputs (subprocess), as rows beside ours."""
    if args.skip_fer:
        return {"status": "skipped (--skip-fer)"}
    if not fer_installed():
        return {"status": f"not measured: `fer` is not installed (pip install --no-deps -r bench/requirements.txt; "
                          f"{FER_PIN})"}
    _log("the fer package (subprocess)")
    raw, error, started = run_fer(inputs, plan.fer)
    if raw is None:
        return {"status": f"failed: {error}"}
    ours = [r for r in report["pipeline"] if r["detector"] == DEFAULT_DETECTOR]
    if len(ours) != len(frames):  # --detectors left the default out
        ours = pipeline_rows([DEFAULT_DETECTOR], classifier, frames, plan.pipeline)
    clf_row = next((r for r in report["classification"] if r["model"] == report["default_model"]
                    and r.get("runtime_key") == "float" and r["status"] == "measured"), None)
    return compare(raw, started, frames, photos, ours, our_photos, clf_row["batch1_p50_ms"] if clf_row else None,
                   labelled)


def run(args: argparse.Namespace) -> dict[str, Any]:
    plan = Plan(args.quick)
    models = list_models()
    default_model = default_model_name()
    detectors = args.detectors or ([DEFAULT_DETECTOR] if args.quick else list(DETECTOR_NAMES))
    notes: list[str] = []

    _log("building frames")
    frames, photos, photo_notes = build_frames(download=not args.no_download)
    notes += photo_notes
    if args.quick:
        photos = photos[:2]
    crops = face_crops48(frames)

    report: dict[str, Any] = {
        "schema": 1,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m bench" + ("".join(" " + shlex.quote(a) for a in args.argv)),
        "quick": args.quick,
        "machine": {**machine_description(), "numpy": np.__version__, "streamlit": _version("streamlit"),
                    "fer": _version("fer")},
        "models_dir": str(models_dir()),
        "models": [m.name for m in models],
        "default_model": default_model,
        "default_flip_tta": default_flip_tta(),
        "default_detector": DEFAULT_DETECTOR,
        "frames": [{"key": f.key, "width": f.width, "height": f.height, "faces": f.faces} for f in frames],
        "photos": [p.name for p in photos],
    }

    _log("classification latency (LiteRT)")
    report["classification"] = litert_rows(models, to_model_input(crops), plan.classify)
    if args.skip_keras:
        report["classification"] += [{"model": m.name, "runtime": "Keras", "status": "skipped (--skip-keras)",
                                      "file_bytes": None} for m in models]
    else:
        _log("classification latency (Keras, subprocess)")
        report["classification"] += keras_rows(models, to_model_input(crops), plan.classify)

    # the pipeline, photo, webcam and accuracy rows run the default as the app does
    default_flip = default_flip_tta()
    classifier = load_model(default_model, flip_tta=default_flip)
    _log(f"pipeline latency: {', '.join(detectors)}")
    report["pipeline"] = pipeline_rows(detectors, classifier, frames, plan.pipeline)
    analyzer = FaceAnalyzer(create_detector(DEFAULT_DETECTOR), classifier)
    our_photos = photo_rows(analyzer, photos, plan.photos)
    report["photos_pipeline"] = our_photos

    _log(f"webcam callback: {plan.webcam_seconds:.0f} s at 30 FPS")
    report["webcam"] = simulate(analyzer, moving_sequence(frames[0].image), plan.webcam_seconds)

    _log("accuracy on FER2013 PrivateTest")
    report["accuracy"], labelled = measure_accuracy(models, classifier, default_flip, plan.fer2013_per_class)

    with tempfile.TemporaryDirectory(prefix="fer_bench_") as tmp:
        inputs = save_inputs(Path(tmp) / "inputs.npz", frames, photos, crops,
                             None if labelled is None else labelled.images)
        _log("cold start: library process")
        report["library_start"] = measure_library(inputs)
        if args.skip_app:
            report["app_start"] = {"status": "skipped (--skip-app)"}
        else:
            _log("cold start: streamlit app")
            report["app_start"] = measure_app(browser=not (args.quick or args.skip_browser), photo=photos[0].image)
        report["fer_package"] = fer_section(args, plan, inputs, report, frames, photos, our_photos, classifier,
                                            labelled)
        if "accuracy" in report["fer_package"] and report["accuracy"].get("status") == "measured":
            report["accuracy"]["fer"] = report["fer_package"]["accuracy"]
            report["accuracy"]["fer_ferplus"] = report["fer_package"].get("ferplus_accuracy")

    report["load_average_1min_at_end"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    report["main_process_imported_tensorflow"] = "tensorflow" in sys.modules
    if report["fer_package"].get("status") == "measured":
        notes.append("`fer`'s emotion model comes from the face_classification project, whose published training "
                     "script keeps the last 20% of fer2013.csv (PublicTest + PrivateTest) for validation and "
                     "checkpoint choice: PrivateTest was not trained on but helped pick the weights, so `fer`'s "
                     "accuracy here may be slightly optimistic.")
    load, cpus = report["machine"]["load_average_1min_at_start"], report["machine"]["logical_cpus"] or 1
    if load is not None and load > 0.5 * cpus:
        notes.append(f"The machine was busy when the run started (1-minute load {load} on {cpus} CPUs): "
                     "timings are pessimistic; rerun on an idle machine for representative numbers.")
    report["notes"] = notes
    report["targets"] = compute_targets(report)
    return report


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: few repetitions, 3 s webcam stream, "
                        "default detector only, 35 FER2013 faces, no browser")
    parser.add_argument("--skip-fer", action="store_true", help="leave out the `fer` package comparison")
    parser.add_argument("--skip-keras", action="store_true", help="leave out the Keras runtime")
    parser.add_argument("--skip-app", action="store_true", help="do not start the Streamlit app")
    parser.add_argument("--skip-browser", action="store_true", help="start the app but open no browser page")
    parser.add_argument("--detectors", nargs="+", choices=DETECTOR_NAMES,
                        help="detectors for the pipeline table (default: all; --quick: the default one)")
    parser.add_argument("--no-download", action="store_true",
                        help="scikit-image photos only (no photo-set packages fetched with pip)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for report.json and report.md")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = run(args)
    except Exception as exc:  # a clear line, not a traceback, for the expected failures
        from fer_core.classifier import ModelNotFoundError

        if isinstance(exc, ModelNotFoundError):
            print(f"python -m bench: {exc}", file=sys.stderr)
            return 2
        raise
    markdown = render_markdown(report)
    write_report(args.out, "report", report, markdown)
    print(markdown)
    _log(f"wrote {args.out / 'report.json'} and {args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
