"""How far agreement with people goes before the posed-photo accuracy falls: the frontier that
select-default's rule walks along, measured on the shipped models.

    python -m bench.studies.people_frontier                       # the shipped crowd and label models
    python -m bench.studies.people_frontier --pair A B --models A B C [--candidate runs/NAME/best.keras]

Every way of running the models below is scored on FER2013's PublicTest (which alone may choose:
FER+ majority accuracy, and FER2013's labels against the `fer` package's floor), PrivateTest
(reporting) and end to end on the real-photo set (reporting; the default detector and crop):

1. each model alone, one pass and with flip TTA;
2. the `--pair` averaged with weights 0 to 1 in steps of 0.1, one pass each (two networks: what
   a 2 ms-per-face budget allows for two width-24 networks);
3. any `--candidate` training run (a `.keras`, e.g. a run to judge before exporting it).

Per-face time is each member's stored batch-1 median (metrics.json `speed`) times its passes;
a `.keras` candidate has none. The table shows whether the rule could pick each way (at most
`MAX_DEFAULT_MS_PER_FACE` per face, at or above the floor on PublicTest) and the best such way.

Writes bench/results/people_frontier.json and people_frontier.md. Only aggregate scores are
written: no face, photo, crop or per-image result.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import RESULTS_DIR, ROOT
from bench.common.fer2013 import LabelledFaces, load_test_split
from bench.common.machine import machine_description
from bench.common.results import write_report
from bench.studies.photo_settings import detect_all, model_inputs
from fer_core.classifier import EmotionClassifier, load_classifier
from fer_core.image_io import load_image
from fer_core.model_zoo import get_model, load_model
from fer_core.photo_eval import dataset_name, list_photos
from fer_core.pipeline import FaceAnalyzer
from fer_core.preprocessing import to_grayscale, to_model_input
from fer_core.training.export import MAX_DEFAULT_MS_PER_FACE, read_fer2013_floor

DEFAULT_MODELS = ("blend_votes_people_s1kd", "blend_votes_s1kd", "plain_vgg_votes", "plain_vgg_people", "plain_vgg_s1_kd",
                  "plain_vgg_fast_kd")
DEFAULT_PAIR = ("plain_vgg_votes", "plain_vgg_s1_kd")
DEFAULT_PHOTOS = ROOT.parent / "shared" / "data" / "expressions_dev"
FLOOR_FILE = RESULTS_DIR / "fer_floor.json"
WEIGHTS = tuple(round(0.1 * k, 1) for k in range(11))


@dataclass
class Inputs:
    public: LabelledFaces
    private: LabelledFaces
    photos: np.ndarray  # model input of the largest face of each photo that has one (the app's detector and crop)
    photo_labels: np.ndarray  # those photos' labels
    photo_count: int  # every photo: one without a face counts as wrong


def load_inputs(photo_dir: Path) -> Inputs:
    public, private = load_test_split("PublicTest"), load_test_split("PrivateTest")
    if public is None or private is None or public.majority is None or private.majority is None:
        raise SystemExit("needs FER2013's PublicTest and PrivateTest with ferplus/votes.csv beside them")
    analyzer = FaceAnalyzer.default()
    photos = list_photos(photo_dir)
    images = [load_image(p.path) for p in photos]
    found = detect_all(analyzer, images, [p.label for p in photos])  # photo_settings' detection and crop
    faces = model_inputs([to_grayscale(im) for im in images], found, analyzer.framing)
    labels = np.array([f.label for f in found if f.detection is not None])
    return Inputs(public, private, faces, labels, len(photos))


def _probs(model: EmotionClassifier, x: np.ndarray, batch: int = 512) -> np.ndarray:
    return np.concatenate([model.predict(x[i:i + batch]) for i in range(0, len(x), batch)])


def model_probs(name: str, inputs: Inputs) -> dict[str, np.ndarray]:
    """{public|private|photos}_{0|1} (one pass | flip TTA) probabilities of a shipped model or a .keras."""
    out = {}
    for flip in (0, 1):
        model = (load_classifier(name, flip_tta=bool(flip), num_threads=1) if name.endswith(".keras")
                 else load_model(name, flip_tta=bool(flip), num_threads=1))
        out[f"public_{flip}"] = _probs(model, to_model_input(inputs.public.images))
        out[f"private_{flip}"] = _probs(model, to_model_input(inputs.private.images))
        out[f"photos_{flip}"] = _probs(model, inputs.photos)
    return out


def ms_per_face(name: str) -> float | None:
    if name.endswith(".keras"):
        return None
    ms = ((get_model(name).metrics() or {}).get("speed") or {}).get("ms_per_face_batch1_p50")
    return float(ms) if ms is not None else None


def scores(probs: dict[str, np.ndarray], inputs: Inputs) -> dict[str, float]:
    def on(split: LabelledFaces, p: np.ndarray) -> tuple[float, float]:
        answer = p.argmax(axis=1)
        assert split.majority is not None
        people = split.majority >= 0  # faces whose FER+ majority is one of the 7 emotions
        return (float(np.mean(answer[people] == split.majority[people])), float(np.mean(answer == split.labels)))

    pub_people, pub_labels = on(inputs.public, probs["public"])
    priv_people, priv_labels = on(inputs.private, probs["private"])
    photos = float(np.sum(probs["photos"].argmax(axis=1) == inputs.photo_labels) / inputs.photo_count)
    return {"publictest_ferplus": pub_people, "publictest_fer2013": pub_labels,
            "privatetest_ferplus": priv_people, "privatetest_fer2013": priv_labels, "photos": photos}


def frontier(models: Sequence[str], pair: Sequence[str], candidates: Sequence[str], inputs: Inputs,
             floor: float) -> list[dict[str, Any]]:
    probs = {name: model_probs(name, inputs) for name in dict.fromkeys([*models, *pair, *candidates])}
    rows = []

    def add(way: str, members: list[tuple[str, int, float]]) -> None:
        mixed = {part: sum(w * probs[n][f"{part}_{flip}"] for n, flip, w in members)
                 for part in ("public", "private", "photos")}
        active = [(n, flip) for n, flip, w in members if w > 0]
        times = [ms_per_face(n) for n, _ in active]  # a face and its mirror: two calls
        ms = None if None in times else sum(t * (1 + flip) for t, (_, flip) in zip(times, active))  # type: ignore[operator]
        row: dict[str, Any] = {"way": way, "ms_per_face": ms, **scores(mixed, inputs)}
        row["eligible"] = ms is not None and ms <= MAX_DEFAULT_MS_PER_FACE and row["publictest_fer2013"] >= floor
        rows.append(row)

    for name in dict.fromkeys([*models, *candidates]):
        add(name, [(name, 0, 1.0)])
        add(f"{name} + flip TTA", [(name, 1, 1.0)])
    a, b = pair
    for w in WEIGHTS[1:-1]:
        add(f"{w:.1f} x {a} + {1 - w:.1f} x {b}", [(a, 0, w), (b, 0, round(1 - w, 1))])
    return rows


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Measured {report['date']} by `{report['command']}`: FER2013 PublicTest (chooses), PrivateTest "
        f"(reports) and {report['photos']['count']} posed real photos end to end (`{report['photos']['name']}`, "
        f"reports). The floor: {report['floor']['source']}'s {_pct(report['floor']['accuracy'])} on "
        f"PublicTest's FER2013 labels.",
        "",
        "| way of running | ms/face | PublicTest: people | PublicTest: FER2013 | rule may pick | "
        "PrivateTest: people | PrivateTest: FER2013 | real photos |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in report["rows"]:
        ms = "–" if r["ms_per_face"] is None else f"{r['ms_per_face']:.2f}"
        lines.append(f"| {r['way']} | {ms} | {_pct(r['publictest_ferplus'])} | {_pct(r['publictest_fer2013'])} | "
                     f"{'yes' if r['eligible'] else 'no'} | {_pct(r['privatetest_ferplus'])} | "
                     f"{_pct(r['privatetest_fer2013'])} | {_pct(r['photos'])} |")
    best = report.get("best")
    lines.append("")
    if best:
        lines.append(f"Highest agreement with people on PublicTest among the ways the rule may pick: **{best['way']}**, "
                     f"{_pct(best['privatetest_ferplus'])} on PrivateTest ({_pct(best['privatetest_fer2013'])} on "
                     f"FER2013's labels), {_pct(best['photos'])} on the real photos.")
    else:
        lines.append("No way of running these models is within the time and the floor.")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--pair", nargs=2, default=list(DEFAULT_PAIR), metavar=("A", "B"))
    parser.add_argument("--candidate", nargs="*", default=[], help="training runs' .keras files to judge too")
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    floor = read_fer2013_floor(FLOOR_FILE)
    inputs = load_inputs(args.photos)
    rows = frontier(args.models, args.pair, args.candidate, inputs, floor.accuracy)
    eligible = [r for r in rows if r["eligible"]]
    extra = sys.argv[1:] if argv is None else list(argv)
    report = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m bench.studies.people_frontier" + (" " + " ".join(extra) if extra else ""),
        "machine": machine_description(),
        "floor": {"accuracy": floor.accuracy, "source": floor.source},
        "max_ms_per_face": MAX_DEFAULT_MS_PER_FACE,
        "photos": {"name": dataset_name(args.photos), "count": inputs.photo_count,
                   "faces_found": int(len(inputs.photo_labels))},
        "rows": rows,
        "best": max(eligible, key=lambda r: r["publictest_ferplus"]) if eligible else None,
    }
    write_report(args.out, "people_frontier", report, render_markdown(report))
    print((args.out / "people_frontier.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
