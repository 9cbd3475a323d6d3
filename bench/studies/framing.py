"""Where FER2013's 48x48 frame sits relative to a detector's face box (no classifier involved).

    python -m bench.studies.framing                      # 3000 Training faces, default detector
    python -m bench.studies.framing --faces 500 --detector blazeface-full --compare haar blazeface-short

FER2013 faces were cut by the dataset's own face finder; we never saw its boxes. So each
Training face is put back into a bigger frame (upscaled 4x to 192 px, then a border of
replicated or mirrored edge pixels half its size on every side), our detector runs on that,
and the detected box is compared with the original 48x48 frame:

    scale   = 48 / longer box side                   (crop side in box sides)
    shift_x = (frame centre x - box centre x) / box width
    shift_y = (frame centre y - box centre y) / box height   (+: the frame sits lower)

Their medians are the box -> crop mapping that reproduces the training framing
(`fer_core.preprocessing.Framing`). `--compare` measures other detectors on the same faces (by
default Haar: how close is its box to the frame FER2013's own face finder cut?). Writes bench/results/framing.json and framing.md (the README
section); nothing else: no image or crop is written. Faces are read from
../shared/data/fer2013/train (FER_BENCH_FER2013 for another copy).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.common import RESULTS_DIR
from bench.common.fer2013 import fer2013_root
from bench.common.machine import machine_description
from bench.common.results import write_report
from fer_core.detection import DEFAULT_DETECTOR, DETECTOR_NAMES, FaceDetector, create_detector
from fer_core.labels import EMOTIONS
from fer_core.preprocessing import INPUT_SIZE, eye_roll

UPSCALE = 4  # 48 -> 192 px: the full-range BlazeFace input size
BORDERS = {"replicate": cv2.BORDER_REPLICATE, "reflect": cv2.BORDER_REFLECT_101}
QUANTITIES = ("scale", "shift_x", "shift_y", "aspect", "roll", "box_per_eyes")
LABELS = {
    "scale": "crop side / longer box side (`scale`)",
    "shift_x": "crop centre - box centre, x, in box widths (`shift_x`)",
    "shift_y": "crop centre - box centre, y, in box heights (`shift_y`, + = lower)",
    "aspect": "box width / box height",
    "roll": "eye-line roll, degrees",
    "box_per_eyes": "longer box side / eye distance",
}


def sample_training_faces(root: Path, count: int, seed: int = 0) -> list[np.ndarray]:
    """`count` Training faces drawn at random (fixed seed) over all classes."""
    files = sorted(p for e in EMOTIONS for p in (root / "train" / e).glob("Training_*.jpg"))
    if not files:
        raise SystemExit(f"no FER2013 Training images under {root / 'train'}")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(files), size=min(count, len(files)), replace=False)
    faces = [cv2.imread(str(files[i]), cv2.IMREAD_GRAYSCALE) for i in sorted(chosen)]
    return [f for f in faces if f is not None and f.shape == (INPUT_SIZE, INPUT_SIZE)]


def in_context(face: np.ndarray, border: int) -> tuple[np.ndarray, int]:
    """The face upscaled and padded, as RGB, and the pad in pixels (the frame's offset)."""
    big = cv2.resize(face, (INPUT_SIZE * UPSCALE, INPUT_SIZE * UPSCALE), interpolation=cv2.INTER_CUBIC)
    pad = INPUT_SIZE * UPSCALE // 2
    framed = cv2.copyMakeBorder(big, pad, pad, pad, pad, border)
    return cv2.cvtColor(framed, cv2.COLOR_GRAY2RGB), pad


def box_per_eyes(box: tuple[int, int, int, int], landmarks: np.ndarray | None) -> float:
    """The box's size in eye distances: compares how big the detector draws the same face in
    different settings (FER2013 in context vs real photos); NaN without landmarks."""
    if landmarks is None or len(landmarks) < 2:
        return float("nan")
    eyes = float(np.hypot(*(np.asarray(landmarks[1], np.float64) - np.asarray(landmarks[0], np.float64))))
    return max(box[2], box[3]) / eyes if eyes > 0 else float("nan")


def fit_one(detector: FaceDetector, face: np.ndarray, border: int) -> dict[str, float] | None:
    """The mapping for one face, from the detection nearest the frame centre (None: no face
    found, or the nearest box's centre lies outside the original frame)."""
    image, pad = in_context(face, border)
    found = detector.detect(image)
    if not found:
        return None
    side = INPUT_SIZE * UPSCALE
    centre = pad + side / 2.0

    def distance(d) -> float:
        x, y, w, h = d.box
        return float(np.hypot(x + w / 2.0 - centre, y + h / 2.0 - centre))

    best = min(found, key=distance)
    x, y, w, h = best.box
    if distance(best) > side / 2.0:
        return None
    roll = eye_roll(best.landmarks)
    return {
        "scale": side / max(w, h),
        "shift_x": (centre - (x + w / 2.0)) / w,
        "shift_y": (centre - (y + h / 2.0)) / h,
        "aspect": w / h,
        "roll": float("nan") if roll is None else roll,
        "box_per_eyes": box_per_eyes(best.box, best.landmarks),
    }


def summarise(values: Sequence[float]) -> dict[str, float]:
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=np.float64)
    if not len(v):
        return {}
    p = np.percentile(v, [10, 25, 50, 75, 90])
    return {"median": round(float(p[2]), 4), "p25": round(float(p[1]), 4), "p75": round(float(p[3]), 4),
            "p10": round(float(p[0]), 4), "p90": round(float(p[4]), 4), "n": int(len(v))}


def measure(detector: FaceDetector, faces: Sequence[np.ndarray], borders: Sequence[str] = tuple(BORDERS)
            ) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for border_name in borders:
        border = BORDERS[border_name]
        fits = [f for f in (fit_one(detector, face, border) for face in faces) if f is not None]
        result[border_name] = {
            "faces": len(faces),
            "found": len(fits),
            **{q: summarise([f[q] for f in fits]) for q in QUANTITIES},
        }
        print(f"{border_name}: {len(fits)}/{len(faces)} found, scale {result[border_name]['scale'].get('median')}, "
              f"shift_y {result[border_name]['shift_y'].get('median')}", file=sys.stderr)
    return result


def _cell(stats: dict[str, float], digits: int) -> str:
    if not stats:
        return "–"
    f = f"{{:.{digits}f}}"
    return (f"{f.format(stats['median'])} ({f.format(stats['p25'])} to {f.format(stats['p75'])}; "
            f"{f.format(stats['p10'])} to {f.format(stats['p90'])})")


def render_markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    borders = list(report["borders"])
    lines = [
        "### Face framing: detector box -> FER2013 frame",
        "",
        f"Measured {report['date']} by `{report['command']}` with the `{report['detector']}` detector on "
        f"{report['faces']} FER2013 Training faces (random, seed {report['seed']}), each upscaled {UPSCALE}x and "
        f"padded by half its size with replicated or mirrored edges; {m['cpu']}, OpenCV {m['opencv']}. "
        "Median (inter-quartile range; 10th to 90th percentile) over the faces the detector found.",
        "",
        "| quantity | " + " | ".join(f"{b} border" for b in borders) + " |",
        "| --- | " + " | ".join("---" for _ in borders) + " |",
        "| faces found | " + " | ".join(
            f"{report['borders'][b]['found']}/{report['borders'][b]['faces']} "
            f"({100.0 * report['borders'][b]['found'] / max(1, report['borders'][b]['faces']):.0f}%)"
            for b in borders) + " |",
    ]
    for q in QUANTITIES:
        digits = 1 if q == "roll" else 2 if q == "box_per_eyes" else 3
        lines.append(f"| {LABELS[q]} | " + " | ".join(_cell(report["borders"][b][q], digits) for b in borders) + " |")
    others = report.get("others") or {}
    if others:
        lines += ["", "The same faces (replicated border) under the other detectors, for comparison; a box that "
                      "matches the 48x48 frame has scale 1 and no shift:", "",
                  "| detector | faces found | scale | shift_x | shift_y |", "| --- | --- | --- | --- | --- |"]
        for name, r in others.items():
            lines.append(f"| {name} | {r['found']}/{r['faces']} | {_cell(r['scale'], 3)} | {_cell(r['shift_x'], 3)} | "
                         f"{_cell(r['shift_y'], 3)} |")
    fit = report["fit"]
    lines += ["", f"Fitted mapping (medians, {fit['border']} border): scale **{fit['scale']:.2f}**, "
                  f"shift_x **{fit['shift_x']:+.2f}**, shift_y **{fit['shift_y']:+.2f}**. The old default "
                  f"(margin 0.15 each side, centred) was scale 1.30, shifts 0."]
    return "\n".join(lines) + "\n"


def run(detector_name: str, count: int, seed: int, out_dir: Path, root: Path | None = None,
        command: str = "python -m bench.studies.framing", compare: Sequence[str] = ()) -> dict[str, Any]:
    faces = sample_training_faces(root or fer2013_root(), count, seed)
    detector = create_detector(detector_name)
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "machine": machine_description(),
        "detector": detector_name,
        "faces": len(faces),
        "seed": seed,
        "upscale": UPSCALE,
        "borders": measure(detector, faces),
    }
    report["others"] = {name: measure(create_detector(name), faces, ("replicate",))["replicate"]
                        for name in compare if name != detector_name}
    main_border = "replicate"
    b = report["borders"][main_border]
    report["fit"] = {"border": main_border, **{q: round(b[q]["median"], 2) for q in ("scale", "shift_x", "shift_y")}}
    write_report(out_dir, "framing", report, render_markdown(report))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=3000, help="FER2013 Training faces to place back in context")
    parser.add_argument("--detector", default=DEFAULT_DETECTOR, choices=DETECTOR_NAMES)
    parser.add_argument("--compare", nargs="*", default=["haar"], choices=DETECTOR_NAMES,
                        help="other detectors measured on the same faces, for comparison (default: haar)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    command = "python -m bench.studies.framing" + ("" if argv is None and len(sys.argv) == 1 else " " + " ".join(
        sys.argv[1:] if argv is None else argv))
    run(args.detector, args.faces, args.seed, args.out, command=command, compare=args.compare)
    print((args.out / "framing.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
