"""Does running the face detector on every k-th webcam frame keep the labels? (FER_DETECT_EVERY)

    python -m bench.studies.detect_every [--photos 8] [--frames 30] [--speed 12]

The live page analyses a frame every tenth of a second or so; between two detections a face
moves a little, and `StreamAnalyzer(detect_every=k)` classifies it at the box where it was last
found. Each real photo of ../shared/data/expressions_dev (`--photos` per emotion) is letterboxed
into a 640x480 frame and moved left and right along a sine (`--speed`: the peak shift in pixels
per analysed frame; a head turning at ~120 px/s seen at 10 analysed FPS), `--frames` analysed
frames long, and analysed as the live page does (the shipped model and detector, the page's
default smoothing), once per k. Against k = 1 (the detector on every frame), per k: the share of
frames whose main face has the same label (frames with a face in either), the share whose face
was missed, and the mean overlap (IoU) of the drawn box with the fresh one. What it saves is
bench.capacity.live_profile's to measure, on the live server.

Writes bench/results/detect_every.json and detect_every.md (docs section `detect_every`); no
photo, frame or crop is written.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.common.results import write_report
from fer_core.image_io import load_image
from fer_core.labels import EMOTIONS
from fer_core.photo_eval import list_photos
from fer_core.pipeline import FaceAnalyzer, StreamAnalyzer, largest_face
from fer_core.tracking import iou
from tests.helpers.streamlit_server import ROOT

RESULTS = ROOT / "bench" / "results"
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "expressions_dev"
KS = (1, 2, 3, 4, 5)
SIZE = (640, 480)
SMOOTHING = 0.6  # the page's default (ui.settings)


def letterbox(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """The photo scaled to fit `width` x `height` (the face then as large as a webcam's at arm's
    length or closer), centred on grey."""
    scale = min(width / rgb.shape[1], height / rgb.shape[0])
    w, h = int(rgb.shape[1] * scale), int(rgb.shape[0] * scale)
    canvas = np.full((height, width, 3), 128, np.uint8)
    x, y = (width - w) // 2, (height - h) // 2
    canvas[y : y + h, x : x + w] = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    return canvas


def sweep(frame: np.ndarray, frames: int, speed: float) -> list[np.ndarray]:
    """`frames` copies shifted along x = A sin(2 pi t / frames), A chosen so that the fastest
    step is `speed` pixels; a little vertical bob at a third of that."""
    amplitude = speed * frames / (2 * np.pi)
    out = []
    for i in range(frames):
        phase = 2 * np.pi * i / frames
        m = np.float32([[1, 0, amplitude * np.sin(phase)], [0, 1, amplitude / 3 * np.sin(2 * phase)]])
        out.append(cv2.warpAffine(frame, m, (frame.shape[1], frame.shape[0]), borderMode=cv2.BORDER_REPLICATE))
    return out


def run_sequence(analyzer: FaceAnalyzer, frames: list[np.ndarray], k: int) -> list[Any]:
    """The main face (label, box) per frame, or None."""
    stream = StreamAnalyzer(analyzer, smoothing=SMOOTHING, detect_every=k)
    out = []
    for frame in frames:
        main = largest_face(stream.update(frame))
        out.append(None if main is None else (main.emotion, main.box))
    return out


def compare(reference: list[Any], other: list[Any]) -> dict[str, int | float]:
    with_face = [(r, o) for r, o in zip(reference, other) if r is not None or o is not None]
    same = sum(r is not None and o is not None and r[0] == o[0] for r, o in with_face)
    missed = sum(r is not None and o is None for r, o in with_face)
    ious = [iou(r[1], o[1]) for r, o in with_face if r is not None and o is not None]
    return {"frames_with_face": len(with_face), "same_label": same, "missed": missed,
            "iou_sum": float(sum(ious)), "iou_n": len(ious)}


def summarise(k: int, parts: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum(p["frames_with_face"] for p in parts)
    n_iou = sum(p["iou_n"] for p in parts)
    return {"k": k, "frames_with_face": total,
            "label_agreement": sum(p["same_label"] for p in parts) / total if total else None,
            "missed_share": sum(p["missed"] for p in parts) / total if total else None,
            "mean_iou": sum(p["iou_sum"] for p in parts) / n_iou if n_iou else None}


def every(k: int) -> str:
    return "every frame" if k == 1 else f"every {k}{ {2: 'nd', 3: 'rd'}.get(k, 'th')} frame"


def markdown(report: dict[str, Any]) -> str:
    rows = ["| detector on | main face's label as with every frame | face missed | box overlap with a fresh "
            "detection (IoU) |", "|---|---|---|---|"]
    for r in report["rows"]:
        rows.append(f"| {every(r['k'])} | {100 * r['label_agreement']:.1f}% | "
                    f"{100 * r['missed_share']:.1f}% | {r['mean_iou']:.3f} |")
    return "\n".join([
        *rows, "", f"{report['photos']} expressions_dev photos ({report['per_emotion']} per emotion), each letterboxed into "
            f"640x480 and swept left and right over {report['frames']} analysed frames (fastest step {report['speed']:g} px "
            f"per analysed frame), model `{report['model']}`{' with flip TTA' if report['flip_tta'] else ''}, "
            f"detector `{report['detector']}`, smoothing {SMOOTHING}. Compared frame by frame with the detector on every "
            "frame; the face of a frame is the largest one.",
        "", f"`python -m bench.studies.detect_every --photos {report['per_emotion']} --frames {report['frames']} "
            f"--speed {report['speed']:g}`, {report['machine']}, {report['date']}."])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.studies.detect_every", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="photos in <emotion>/ folders")
    parser.add_argument("--photos", type=int, default=8, help="photos per emotion (default 8)")
    parser.add_argument("--frames", type=int, default=30, help="analysed frames per photo (default 30)")
    parser.add_argument("--speed", type=float, default=12.0, help="fastest shift, px per analysed frame (default 12)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--render", action="store_true", help="only rewrite the .md from the stored json")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        report = json.loads((args.out / "detect_every.json").read_text())
        (args.out / "detect_every.md").write_text(markdown(report) + "\n")
        return 0
    import os
    import platform

    from fer_core.detection import DEFAULT_DETECTOR
    from fer_core.model_zoo import default_flip_tta, default_model_name

    analyzer = FaceAnalyzer.default()
    photos = list_photos(args.data)
    chosen = [p for e in range(len(EMOTIONS)) for p in [q for q in photos if q.label == e][: args.photos]]
    parts: dict[int, list[dict[str, Any]]] = {k: [] for k in KS}
    for i, photo in enumerate(chosen):
        frames = sweep(letterbox(load_image(str(photo.path)), *SIZE), args.frames, args.speed)
        reference = run_sequence(analyzer, frames, 1)
        parts[1].append(compare(reference, reference))
        for k in KS[1:]:
            parts[k].append(compare(reference, run_sequence(analyzer, frames, k)))
        print(f"{i + 1}/{len(chosen)}", file=sys.stderr, end="\r", flush=True)
    report = {"rows": [summarise(k, parts[k]) for k in KS], "photos": len(chosen), "per_emotion": args.photos,
              "frames": args.frames, "speed": args.speed, "model": default_model_name(), "flip_tta": default_flip_tta(),
              "detector": DEFAULT_DETECTOR, "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
              "date": time.strftime("%Y-%m-%d")}
    write_report(args.out, "detect_every", report, markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
