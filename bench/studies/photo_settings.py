"""Framing, alignment and preprocessing chosen end to end on labelled photos.

    python -m bench.studies.photo_settings                          # ../shared/data/expressions_dev
    python -m bench.studies.photo_settings --data DIR --model NAME [--flip-tta]
    python -m bench.studies.photo_settings --models-only            # step 5 again: the models shipped now

Each photo is read and searched for faces once (default detector, through the app's own
FaceAnalyzer; the largest face is the photo's answer, no face counts as wrong); then every
setting re-crops the same detections and classifies them (fer_core.photo_eval scores them):

1. framing grid: crop scale x vertical shift around the fit of `python -m bench.studies.framing`
   (bench/results/framing.json), eyes levelled or not;
2. alignment: the photos as they are and rolled by +-15 / +-30 degrees (re-detected);
3. contrast (none, histogram equalisation, CLAHE), grey conversion and crop aspect ratio;
4. the other detectors: each one's box related to the default's on the same faces, the crop
   carried over to it, and both crops scored;
5. every shipped model with the old crop, the fitted crop and the shipped default (there also
   with flip TTA, as the app can run it), and the `fer` package (its own detector and crop) on
   the same photos where it is installed.

Settings 1-4 are tuned with the zoo's most accurate option (`model_zoo.most_accurate`: today
two seeds of one network averaged, with flip TTA) unless `--model` names another: a crop tuned
with one network also fits that network's quirks (two seeds of the same network, level on
PublicTest, differed by 6 points on these photos), and every model shares the crop.

Writes bench/results/photo_settings.json, photos.md (every model) and photo_settings.md (the
tuning tables); tools/update_readme.py puts both into the README. Only aggregate
scores are written: no photo, crop or per-photo result. Photos never leave memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.common import RESULTS_DIR, ROOT
from bench.common.machine import machine_description
from bench.studies.framing import box_per_eyes
from fer_core.classifier import EmotionClassifier
from fer_core.detection import DEFAULT_DETECTOR, DETECTOR_NAMES, create_detector
from fer_core.image_io import load_image
from fer_core.labels import EMOTIONS
from fer_core.model_zoo import default_flip_tta, default_model_name, list_models, load_model, most_accurate
from fer_core.photo_eval import NOT_FOUND, dataset_name, list_photos, score_photos
from fer_core.pipeline import FaceAnalyzer, largest_face
from fer_core.preprocessing import (
    DEFAULT_FRAMING,
    Framing,
    crop_face,
    framing_for,
    resize_face,
    to_grayscale,
    to_model_input,
)
from fer_core.tracking import iou

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "expressions_dev"
OLD_FRAMING = Framing.from_margin(0.15)  # the crop before this measurement
SCALE_STEPS = (-0.40, -0.32, -0.24, -0.16, -0.08, 0.0, 0.08, 0.16, 0.24)  # around the fitted scale
SHIFT_STEPS = (-0.16, -0.12, -0.08, -0.04, 0.0, 0.04, 0.08)  # around the fitted vertical shift
ROLLS = (-30, -15, 0, 15, 30)  # degrees, + = counter-clockwise on screen
ASPECTS = (0.85, 0.92, 1.0, 1.08, 1.16)  # crop width / height
CLAHE_CLIP, CLAHE_TILES = 2.0, 4
CV_FOLDS = 5  # people-wise folds for the held-out estimate of the tuned crop
# Why a setting stays as it is even where another measured a little better (few photos apart).
WHY_KEPT = {
    "grey": " Kept: a difference of a few photos is noise; BT.601 luma is the usual conversion (OpenCV, Pillow).",
    "aspect": " Kept square, as FER2013's crops are: this photo set was resized without keeping its aspect ratio "
              "and stretched back (see its README), so a preference for a non-square crop may come from that "
              "rather than from faces.",
}


@dataclass(frozen=True)
class Found:
    label: int
    detection: Any  # fer_core Detection or None


# --- pixel variants under test -----------------------------------------------------------------


def grey_bt601(rgb: np.ndarray) -> np.ndarray:
    return to_grayscale(rgb)  # what the app does (OpenCV, ITU-R BT.601 weights)


def grey_mean(rgb: np.ndarray) -> np.ndarray:
    return np.round(rgb.astype(np.float32).mean(axis=2)).astype(np.uint8)


GREYS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"BT.601 luma (app)": grey_bt601, "channel mean": grey_mean}


def contrast_none(face: np.ndarray) -> np.ndarray:
    return face


def contrast_equalise(face: np.ndarray) -> np.ndarray:
    return cv2.equalizeHist(face)


def contrast_clahe(face: np.ndarray) -> np.ndarray:
    return cv2.createCLAHE(clipLimit=CLAHE_CLIP, tileGridSize=(CLAHE_TILES, CLAHE_TILES)).apply(face)


CONTRASTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none (app; as the models were trained)": contrast_none,
    "histogram equalisation": contrast_equalise,
    f"CLAHE (clip {CLAHE_CLIP:g}, {CLAHE_TILES}x{CLAHE_TILES} tiles)": contrast_clahe,
}


def rolled(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """The photo rotated about its centre, on a canvas padded (edge pixels) so the head stays in."""
    if degrees == 0:
        return rgb
    h, w = rgb.shape[:2]
    pad = max(h, w) // 4
    big = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    centre = (big.shape[1] / 2.0, big.shape[0] / 2.0)
    matrix = cv2.getRotationMatrix2D(centre, degrees, 1.0)
    return cv2.warpAffine(big, matrix, (big.shape[1], big.shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


# --- scoring -----------------------------------------------------------------------------------


def model_inputs(greys: Sequence[np.ndarray], found: Sequence[Found], framing: Framing,
                 contrast: Callable[[np.ndarray], np.ndarray] = contrast_none) -> np.ndarray:
    """(K, 48, 48, 1) inputs for the photos where a face was found, in order."""
    faces = [contrast(resize_face(crop_face(g, f.detection.box, framing, f.detection.landmarks)))
             for g, f in zip(greys, found) if f.detection is not None]
    return to_model_input(np.stack(faces)) if faces else np.zeros((0, 48, 48, 1), np.float32)


def predictions(classifier: EmotionClassifier, greys: Sequence[np.ndarray], found: Sequence[Found],
                framing: Framing, contrast: Callable[[np.ndarray], np.ndarray] = contrast_none) -> np.ndarray:
    """Per-photo answers (EMOTIONS index or NOT_FOUND); kept in memory only."""
    inputs = model_inputs(greys, found, framing, contrast)
    answers = iter(np.argmax(classifier.predict(inputs), axis=1)) if len(inputs) else iter(())
    return np.array([int(next(answers)) if f.detection is not None else NOT_FOUND for f in found])


def score(classifier: EmotionClassifier, greys: Sequence[np.ndarray], found: Sequence[Found], framing: Framing,
          contrast: Callable[[np.ndarray], np.ndarray] = contrast_none) -> dict[str, Any]:
    return score_photos([f.label for f in found], predictions(classifier, greys, found, framing, contrast))


def person_of(path: Path) -> str | None:
    """The person in a photo where the file name says (expressions_dev: tw_pNN_...), else None."""
    match = re.search(r"_p(\d+)_", path.name)
    return match.group(1) if match else None


def cross_validate(per_setting: dict[tuple[float, float], np.ndarray], labels: np.ndarray, people: Sequence[str],
                   scales: Sequence[float], shifts: Sequence[float], folds: int = CV_FOLDS) -> dict[str, Any]:
    """Choose the crop on the other people, score it on held-out people: how much of the tuned
    gain is real rather than fitted to these photos."""
    ids = sorted(set(people))
    fold_of = {p: i % folds for i, p in enumerate(ids)}
    fold = np.array([fold_of[p] for p in people])
    correct, picks = 0, []
    for k in range(folds):
        train, test = fold != k, fold == k
        grid = [{"scale": s, "shift_y": d, "accuracy": float((per_setting[(s, d)][train] == labels[train]).mean())}
                for s in scales for d in shifts]
        pick = choose(grid, scales, shifts)
        picks.append({"scale": pick["scale"], "shift_y": pick["shift_y"]})
        correct += int((per_setting[(pick["scale"], pick["shift_y"])][test] == labels[test]).sum())
    return {"folds": folds, "people": len(ids), "held_out_accuracy": round(correct / len(labels), 4), "picks": picks}


def brief(result: dict[str, Any]) -> dict[str, Any]:
    return {k: result[k] for k in ("photos", "faces_found", "accuracy", "macro_f1")} | {
        "recall": {e: round(v["recall"], 4) for e, v in result["per_class"].items()}}


def detect_all(analyzer: FaceAnalyzer, images: Sequence[np.ndarray], labels: Sequence[int]) -> list[Found]:
    return [Found(label, largest_face(analyzer.detect(image))) for image, label in zip(images, labels)]


def box_mapping(reference: Sequence[Found], other: Sequence[Found], min_iou: float = 0.3) -> dict[str, Any] | None:
    """How another detector's box relates to the default detector's on the same faces (medians):
    side_ratio = default box side / other box side; dx, dy = (default centre - other centre) in
    the other box's width / height."""
    rows = []
    for a, b in zip(reference, other):
        if a.detection is None or b.detection is None or iou(a.detection.box, b.detection.box) < min_iou:
            continue
        (ax, ay, aw, ah), (bx, by, bw, bh) = a.detection.box, b.detection.box
        rows.append((max(aw, ah) / max(bw, bh), (ax + aw / 2 - bx - bw / 2) / bw, (ay + ah / 2 - by - bh / 2) / bh))
    if not rows:
        return None
    r, dx, dy = np.median(np.asarray(rows), axis=0)
    return {"matched": len(rows), "side_ratio": round(float(r), 3), "dx": round(float(dx), 3),
            "dy": round(float(dy), 3)}


def mapped_framing(base: Framing, mapping: dict[str, Any]) -> Framing:
    """`base` (made for the default detector's boxes) expressed in another detector's boxes, so
    the crop lands on the same part of the face."""
    r = mapping["side_ratio"]
    return replace(base, scale=round(base.scale * r, 2), shift_x=round(mapping["dx"] + base.shift_x * r, 2),
                   shift_y=round(mapping["dy"] + base.shift_y * r, 2))


def fitted_framing(path: Path) -> Framing:
    fit = json.loads(path.read_text())["fit"]
    return Framing(scale=fit["scale"], shift_x=fit["shift_x"], shift_y=fit["shift_y"], align=False)


def choose(grid: list[dict[str, Any]], scales: Sequence[float], shifts: Sequence[float]) -> dict[str, Any]:
    """The grid point with the best accuracy averaged over itself and its 8 neighbours: a single
    cell's best can be luck on ~600 photos (one photo is 0.16 points). Only cells with a full
    neighbourhood are candidates (an edge cell would be smoothed less, so favoured by noise);
    `edge_best` says when the best single cell lies on the edge (then widen the grid)."""
    table = {(r["scale"], r["shift_y"]): r["accuracy"] for r in grid}
    best, best_value = None, -1.0
    for i in range(1, len(scales) - 1):
        for j in range(1, len(shifts) - 1):
            near = [table[(scales[a], shifts[b])] for a in (i - 1, i, i + 1) for b in (j - 1, j, j + 1)]
            value = float(np.mean(near))
            if value > best_value + 1e-12:
                best, best_value = (scales[i], shifts[j]), value
    if best is None:
        raise ValueError("the crop grid needs at least 3 values on each axis")
    top = max(table, key=table.get)
    edge = top[0] in (scales[0], scales[-1]) or top[1] in (shifts[0], shifts[-1])
    return {"scale": best[0], "shift_y": best[1], "neighbourhood_accuracy": round(best_value, 4), "edge_best": edge}


# --- the run -----------------------------------------------------------------------------------


def fer_package(photos: Sequence[Any], labels: Sequence[int]) -> dict[str, Any]:
    """The same photos through the `fer` package (in a subprocess: it imports TensorFlow)."""
    if importlib.util.find_spec("fer") is None:
        return {"status": "not installed (pip install -r bench/requirements.txt --no-deps)"}
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", "bench.studies.fer_photos_worker"], cwd=ROOT, env=env, text=True,
                          input="\n".join(str(p.path) for p in photos), capture_output=True, timeout=1800)
    if proc.returncode != 0:
        return {"status": f"failed: {proc.stderr.strip().splitlines()[-1:]}"}
    raw = json.loads(proc.stdout.strip().splitlines()[-1])
    answers = [NOT_FOUND if a < 0 else a for a in raw["answers"]]
    fer2013 = None
    report_file = RESULTS_DIR / "report.json"
    if report_file.is_file():  # its FER2013 accuracy, as `python -m bench` measured it
        fer2013 = json.loads(report_file.read_text()).get("accuracy", {}).get("fer")
    return {"status": "measured", "version": raw["version"], "fer2013_privatetest_accuracy": fer2013,
            **brief(score_photos(labels, answers))}


def tuning_model(model: str | None, flip_tta: bool) -> tuple[str, bool]:
    """The model (and whether with flip TTA) the crop and preprocessing are tuned with: the one
    named, else the zoo's most accurate option as chosen on PublicTest."""
    return (model, flip_tta) if model else most_accurate()


def score_models(greys: Sequence[np.ndarray], found: Sequence[Found], fit: Framing,
                 log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Every shipped model with the old, the fitted and the shipped crop (that one also with flip TTA)."""
    settings = {"old crop (margin 0.15, centred)": OLD_FRAMING, "fitted crop (bench.studies.framing)": fit,
                "shipped default": DEFAULT_FRAMING}
    default = default_model_name()
    models = []
    for info in list_models():
        clf = load_model(info.name, num_threads=1)
        fer = (info.metrics() or {}).get("accuracy")
        for label, framing in settings.items():
            row = {"model": info.name, "default_model": info.name == default, "setting": label,
                   "fer2013_privatetest_accuracy": fer, **brief(score(clf, greys, found, framing))}
            if framing is DEFAULT_FRAMING:
                mirrored = load_model(info.name, num_threads=1, flip_tta=True)
                row["flip_tta"] = brief(score(mirrored, greys, found, framing))
            models.append(row)
        log(f"{info.name} done")
    return models


def rerun_models(data: Path, out_dir: Path, command: str) -> dict[str, Any]:
    """Only step 5 again, into the stored report: the models table follows the models shipped
    today (a model added or retired) without re-tuning the crop, which every model shares."""
    report = json.loads((out_dir / "photo_settings.json").read_text())
    photos = list_photos(data)
    labels = [p.label for p in photos]
    images = [load_image(p.path) for p in photos]
    greys = [to_grayscale(im) for im in images]
    found = detect_all(FaceAnalyzer(create_detector(DEFAULT_DETECTOR), load_model(num_threads=1)), images, labels)
    del images
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    report["models"] = score_models(greys, found, Framing(**report["fitted"]), log)
    report["default_flip_tta"] = default_flip_tta()
    report["models_measured"] = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "command": command}
    (out_dir / "photo_settings.json").write_text(json.dumps(report, indent=1) + "\n")
    (out_dir / "photos.md").write_text(render_models_markdown(report))
    return report


def run(data: Path, model: str | None, out_dir: Path, command: str, with_fer: bool = True,
        flip_tta: bool = False) -> dict[str, Any]:
    photos = list_photos(data)
    labels = [p.label for p in photos]
    images = [load_image(p.path) for p in photos]
    greys = [to_grayscale(im) for im in images]
    detector = create_detector(DEFAULT_DETECTOR)
    model, flip_tta = tuning_model(model, flip_tta)
    classifier = load_model(model, num_threads=1, flip_tta=flip_tta)
    analyzer = FaceAnalyzer(detector, classifier)
    found = detect_all(analyzer, images, labels)
    fit = fitted_framing(RESULTS_DIR / "framing.json")
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    log(f"{sum(f.detection is not None for f in found)}/{len(found)} faces found")

    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "machine": machine_description(),
        "dataset": {"name": dataset_name(data), "photos": len(photos),
                    "per_class": {e: labels.count(i) for i, e in enumerate(EMOTIONS)}},
        "detector": DEFAULT_DETECTOR,
        "tuning_model": model + (" + flip TTA" if flip_tta else ""),
        "fitted": asdict(fit),
        "old": asdict(OLD_FRAMING),
        "shipped_default": asdict(DEFAULT_FRAMING),
        "box_per_eyes_median": round(float(np.nanmedian(
            [box_per_eyes(f.detection.box, f.detection.landmarks) for f in found if f.detection is not None])), 3),
    }

    # 1. framing grid, without and with levelled eyes
    scales = [round(fit.scale + s, 2) for s in SCALE_STEPS]
    shifts = [round(fit.shift_y + s, 2) for s in SHIFT_STEPS]
    grid = []
    people = [person_of(p.path) for p in photos]
    y = np.asarray(labels)
    report["cross_validation"] = {}
    for align in (False, True):
        answers = {}
        for s in scales:
            for d in shifts:
                answers[(s, d)] = predictions(classifier, greys, found, replace(fit, scale=s, shift_y=d, align=align))
                grid.append({"scale": s, "shift_y": d, "align": align, **brief(score_photos(labels, answers[(s, d)]))})
        if all(people):
            report["cross_validation"][str(align)] = cross_validate(answers, y, people, scales, shifts)
    report["grid"] = grid
    report["grid_axes"] = {"scale": scales, "shift_y": shifts}
    report["reference"] = {name: brief(score(classifier, greys, found, framing)) for name, framing in (
        ("old", OLD_FRAMING), ("fitted", fit), ("shipped_default", DEFAULT_FRAMING))}
    report["grid_choice"] = {
        str(align): choose([r for r in grid if r["align"] is align], scales, shifts) for align in (False, True)}
    log(f"grid done; choice {report['grid_choice']}")

    # 2. alignment on rolled photos (re-detected: the detector sees the rolled face)
    base = DEFAULT_FRAMING
    roll_rows = []
    for degrees in ROLLS:
        turned = [rolled(im, degrees) for im in images] if degrees else images
        rfound = detect_all(analyzer, turned, labels)
        rgreys = [to_grayscale(im) for im in turned]
        for align in (False, True):
            r = brief(score(classifier, rgreys, rfound, replace(base, align=align)))
            roll_rows.append({"roll": degrees, "align": align, **r})
        del turned, rgreys
        log(f"roll {degrees} done")
    report["rolls"] = roll_rows

    # 3. contrast, grey conversion, aspect ratio (on the shipped default framing)
    report["contrast"] = {name: brief(score(classifier, greys, found, base, fn)) for name, fn in CONTRASTS.items()}
    report["grey"] = {name: brief(score(classifier, [fn(im) for im in images], found, base))
                      for name, fn in GREYS.items()}
    report["aspect"] = {str(a): brief(score(classifier, greys, found, replace(base, aspect=a))) for a in ASPECTS}
    log("preprocessing done")

    # 4. the other detectors: their boxes mapped onto the default's, the crop carried over
    report["detectors"] = {}
    for name in DETECTOR_NAMES:
        if name == DEFAULT_DETECTOR:
            continue
        other = detect_all(FaceAnalyzer(create_detector(name), classifier), images, labels)
        mapping = box_mapping(found, other)
        row: dict[str, Any] = {"mapping": mapping, "shipped": asdict(framing_for(name)),
                               "with_default_crop": brief(score(classifier, greys, other, DEFAULT_FRAMING))}
        if mapping:
            derived = mapped_framing(DEFAULT_FRAMING, mapping)
            row["derived"] = asdict(derived)
            row["with_derived_crop"] = brief(score(classifier, greys, other, derived))
        report["detectors"][name] = row
        log(f"{name} done")

    # 5. every shipped model, three crops; the shipped crop also with flip TTA
    report["models"] = score_models(greys, found, fit, log)
    report["default_flip_tta"] = default_flip_tta()
    if with_fer:
        report["fer_package"] = fer_package(photos, labels)

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "photo_settings.json").write_text(json.dumps(report, indent=1) + "\n")
    (out_dir / "photo_settings.md").write_text(render_markdown(report))
    (out_dir / "photos.md").write_text(render_models_markdown(report))
    return report


# --- report ------------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{100.0 * x:.1f}%"


def _framing_text(f: dict[str, Any]) -> str:
    return (f"scale {f['scale']:.2f}, shift_y {f['shift_y']:+.2f}"
            + (f", shift_x {f['shift_x']:+.2f}" if f["shift_x"] else "")
            + (", eyes levelled" if f["align"] else "")
            + (f", aspect {f['aspect']:.2f}" if f.get("aspect", 1) != 1 else ""))


def _row(name: str, r: dict[str, Any]) -> str:
    return f"| {name} | {r['faces_found']}/{r['photos']} | {_pct(r['accuracy'])} | {r['macro_f1']:.3f} |"


def _intro(report: dict[str, Any]) -> str:
    ds = report["dataset"]
    return (f"Measured {report['date']} by `{report['command']}` on `{ds['name']}` ({ds['photos']} posed photos of "
            f"real people, one face each; research-only, never trained on; Chen et al. 2013): default detector "
            f"`{report['detector']}`, the largest face per photo, a photo without a face counts as wrong.")


def render_models_markdown(report: dict[str, Any]) -> str:
    """The README's end-to-end table: every model, old / fitted / shipped crop (and the shipped
    crop with flip TTA)."""
    again = report.get("models_measured")
    lines = [
        _intro(report) + ("" if not again else f" The models were measured again {again['date']} by "
                          f"`{again['command']}`; the `fer` row is from the first date."),
        "",
        "| model | FER2013 PrivateTest (crops) | crop | faces found | end-to-end accuracy | macro-F1 | "
        "+ flip TTA (accuracy, macro-F1) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in report["models"]:
        name = f"**{r['model']}** (default)" if r["default_model"] else r["model"]
        fer = "–" if r["fer2013_privatetest_accuracy"] is None else _pct(r["fer2013_privatetest_accuracy"])
        tta = r.get("flip_tta")
        tta_text = "" if not tta else f"{_pct(tta['accuracy'])}, {tta['macro_f1']:.3f}"
        if tta and r["default_model"] and report.get("default_flip_tta"):
            tta_text = f"**{tta_text}** (as the app runs it)"
        lines.append(f"| {name} | {fer} | {r['setting']} | {r['faces_found']}/{r['photos']} | "
                     f"{_pct(r['accuracy'])} | {r['macro_f1']:.3f} | {tta_text} |")
    fer = report.get("fer_package") or {}
    if fer.get("status") == "measured":
        ref = "–" if fer["fer2013_privatetest_accuracy"] is None else _pct(fer["fer2013_privatetest_accuracy"])
        lines.append(f"| `fer` {fer['version']} (its own Haar cascade and crop) | {ref} | its own | "
                     f"{fer['faces_found']}/{fer['photos']} | {_pct(fer['accuracy'])} | {fer['macro_f1']:.3f} | |")
    elif fer:
        lines.append(f"| `fer` package | – | {fer['status']} | – | – | – | |")
    lines += ["", f"Old crop: {_framing_text(report['old'])}; fitted on FER2013 (`python -m bench.studies.framing`): "
                  f"{_framing_text(report['fitted'])}; shipped default: {_framing_text(report['shipped_default'])}. "
                  f"Scale = crop side / longer box side, shift_y = crop centre below the box centre in box heights."]
    return "\n".join(lines) + "\n"


def render_markdown(report: dict[str, Any]) -> str:
    """How the crop was chosen: the grid, eye levelling, contrast, grey, aspect."""
    head = "| setting | faces found | accuracy | macro-F1 |\n| --- | --- | --- | --- |"
    lines = [
        _intro(report) + f" The detector's box is {report['box_per_eyes_median']:.2f} eye distances on these "
        f"photos (median; FER2013 faces in context: see the framing table).",
        "",
    ]
    model = report["tuning_model"]
    axes = report["grid_axes"]
    for align in (False, True):
        cells = {(r["scale"], r["shift_y"]): r for r in report["grid"] if r["align"] is align}
        choice = report["grid_choice"][str(align)]
        lines += [f"#### Crop grid, {model}, eyes {'levelled' if align else 'not levelled'}: accuracy (macro-F1)", "",
                  "| scale \\ shift_y | " + " | ".join(f"{d:+.2f}" for d in axes["shift_y"]) + " |",
                  "| --- | " + " | ".join("---" for _ in axes["shift_y"]) + " |"]
        for s in axes["scale"]:
            row = []
            for d in axes["shift_y"]:
                c = cells[(s, d)]
                text = f"{_pct(c['accuracy'])} ({c['macro_f1']:.3f})"
                row.append(f"**{text}**" if (s, d) == (choice["scale"], choice["shift_y"]) else text)
            lines.append(f"| {s:.2f} | " + " | ".join(row) + " |")
        lines += ["", f"Best by accuracy averaged with grid neighbours (bold): scale {choice['scale']:.2f}, "
                      f"shift_y {choice['shift_y']:+.2f} ({_pct(choice['neighbourhood_accuracy'])} around it)."
                  + (" The best single cell lies on the grid's edge: widen the grid."
                     if choice.get("edge_best") else "")]
        cv = report.get("cross_validation", {}).get(str(align))
        if cv:
            lines[-1] += (f" Chosen the same way on {cv['folds'] - 1} of {cv['folds']} groups of people and scored on "
                          f"the held-out people ({cv['people']} people in all): {_pct(cv['held_out_accuracy'])} "
                          "(picks: " + ", ".join(f"{p['scale']:.2f} / {p['shift_y']:+.2f}" for p in cv["picks"])
                          + ").")
        lines.append("")

    lines += [f"#### Reference crops, {model}", "", head]
    for name, r in report["reference"].items():
        lines.append(_row(name.replace("_", " "), r))
    lines += ["", f"#### Eye levelling on rolled photos, {model} (shipped framing, photos rotated and re-detected)", "",
              "| roll | faces found | accuracy, not levelled | accuracy, levelled | macro-F1, not / levelled |",
              "| --- | --- | --- | --- | --- |"]
    for roll in sorted({r["roll"] for r in report["rolls"]}):
        off = next(r for r in report["rolls"] if r["roll"] == roll and not r["align"])
        on = next(r for r in report["rolls"] if r["roll"] == roll and r["align"])
        lines.append(f"| {roll:+d} deg | {off['faces_found']}/{off['photos']} | {_pct(off['accuracy'])} | "
                     f"{_pct(on['accuracy'])} | {off['macro_f1']:.3f} / {on['macro_f1']:.3f} |")
    for title, key in (("Contrast", "contrast"), ("Grey conversion", "grey"),
                       ("Crop aspect ratio (width / height)", "aspect")):
        lines += ["", f"#### {title}, {model} (shipped framing)", "", head]
        for name, r in report[key].items():
            lines.append(_row(name, r))
    if report.get("detectors"):
        lines += ["", f"#### Other detectors, {model}: their boxes mapped onto `{report['detector']}`'s on the same "
                      "photos", "",
                  "| detector | faces found | its box side / default box side | its box centre - default box "
                  "centre, x, y (its box units, + = right, lower) | "
                  "accuracy, default crop | crop carried over | accuracy with it | shipped for it |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for name, row in report["detectors"].items():
            m, base = row["mapping"], row["with_default_crop"]
            if not m:
                lines.append(f"| {name} | {base['faces_found']}/{base['photos']} | – | – | "
                             f"{_pct(base['accuracy'])} "
                             f"| – | – | {_framing_text(row['shipped'])} |")
                continue
            lines.append(f"| {name} | {base['faces_found']}/{base['photos']} | {1 / m['side_ratio']:.2f} | "
                         f"{-m['dx']:+.2f}, {-m['dy']:+.2f} | {_pct(base['accuracy'])} | "
                         f"{_framing_text(row['derived'])} "
                         f"| {_pct(row['with_derived_crop']['accuracy'])} | {_framing_text(row['shipped'])} |")
    lines += ["", "#### What the numbers say about the shipped settings", ""] + [f"- {d}" for d in decisions(report)]
    return "\n".join(lines) + "\n"


def _pp(a: float, b: float) -> str:
    return f"{100.0 * (a - b):+.1f} points"


def decisions(report: dict[str, Any]) -> list[str]:
    """Each shipped setting against what was measured, in words computed from the numbers."""
    shipped = report["shipped_default"]
    out = []
    choice = report["grid_choice"][str(shipped["align"])]
    same = (round(shipped["scale"], 2), round(shipped["shift_y"], 2)) == (choice["scale"], choice["shift_y"])
    ref = report["reference"]
    cv = report.get("cross_validation", {}).get(str(shipped["align"]))
    # Re-tuning pays only if the tuning rule, run on some people, beats the shipped crop on the
    # others: when its held-out score is no higher, another grid cell winning is these photos' noise.
    fitted_noise = bool(cv) and cv["held_out_accuracy"] <= ref["shipped_default"]["accuracy"]
    if same:
        verdict = "the grid's choice"
    elif fitted_noise:
        verdict = (f"not the grid's current choice ({choice['scale']:.2f} / {choice['shift_y']:+.2f}), but that "
                   f"choice made on other people scores {_pct(cv['held_out_accuracy'])} on held-out people, not "
                   f"above the shipped crop's {_pct(ref['shipped_default']['accuracy'])} on the same photos: a "
                   "change would fit these photos, so the shipped crop stays")
    else:
        verdict = (f"NOT the grid's current choice ({choice['scale']:.2f} / {choice['shift_y']:+.2f}): "
                   "update fer_core/preprocessing.py and rerun")
    out.append(f"Framing: shipped {_framing_text(shipped)}, {verdict}"
               + f"; {_pp(ref['shipped_default']['accuracy'], ref['old']['accuracy'])} over the old crop and "
               f"{_pp(ref['shipped_default']['accuracy'], ref['fitted']['accuracy'])} over the FER2013 fit"
               + (f"; held out by people: {_pct(cv['held_out_accuracy'])}" if cv and not fitted_noise else "") + ".")
    rolls = {(r["roll"], r["align"]): r["accuracy"] for r in report["rolls"]}
    for degrees in sorted({abs(r) for r, _ in rolls}):
        keys = sorted({d for d in (-degrees, degrees) if (d, True) in rolls})
        gain = np.mean([rolls[(d, True)] - rolls[(d, False)] for d in keys])
        over = ", ".join(f"{d:+d}" for d in keys)
        out.append(f"Eye levelling at {degrees} deg roll: {100.0 * gain:+.1f} points (mean over {over})"
                   + (" (shipped on)." if shipped["align"] and degrees == max(abs(r) for r, _ in rolls) else "."))
    for key, app in (("contrast", next(iter(CONTRASTS))), ("grey", next(iter(GREYS))), ("aspect", "1.0")):
        rows = report[key]
        best = max(rows, key=lambda k: rows[k]["accuracy"])
        photos = rows[app]["photos"]
        diff = rows[best]["accuracy"] - rows[app]["accuracy"]
        out.append(f"{key.capitalize()}: shipped '{app}'; best measured '{best}' "
                   f"({_pp(rows[best]['accuracy'], rows[app]['accuracy'])}, {round(diff * photos)} of {photos} photos)."
                   + WHY_KEPT.get(key, ""))
    for name, row in report.get("detectors", {}).items():
        if "derived" not in row:
            continue
        d, shipped_d = row["derived"], row["shipped"]
        close = abs(d["scale"] - shipped_d["scale"]) <= 0.03 and abs(d["shift_y"] - shipped_d["shift_y"]) <= 0.03
        gain = row["with_derived_crop"]["accuracy"] - row["with_default_crop"]["accuracy"]
        out.append(f"{name}: shipped crop {_framing_text(shipped_d)}; "
                   + ("matches the carried-over crop" if close else "the carried-over crop differs")
                   + f" ({_pp(row['with_derived_crop']['accuracy'], row['with_default_crop']['accuracy'])} "
                     f"with it than with the default's crop"
                     f"{'' if gain > 0 or close else '; the default crop is kept'}).")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="DIR/<emotion>/* photos")
    parser.add_argument("--model", help="the model the settings are tuned with (default: the zoo's most accurate "
                                        "option, with flip TTA where it was chosen with it)")
    parser.add_argument("--flip-tta", action="store_true", help="with --model: tune with flip TTA")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--skip-fer", action="store_true", help="without the `fer` package on the same photos")
    parser.add_argument("--render", action="store_true",
                        help="only rewrite the .md files from OUT/photo_settings.json (no photo is read)")
    parser.add_argument("--models-only", action="store_true",
                        help="only measure every shipped model again (step 5) into OUT/photo_settings.json")
    args = parser.parse_args(argv)
    if args.render:
        report = json.loads((args.out / "photo_settings.json").read_text())
        (args.out / "photo_settings.md").write_text(render_markdown(report))
        (args.out / "photos.md").write_text(render_models_markdown(report))
        return 0
    extra = sys.argv[1:] if argv is None else list(argv)
    command = "python -m bench.studies.photo_settings" + (" " + " ".join(extra) if extra else "")
    if args.data == DEFAULT_DATA:  # the README shows the command as run from the project root
        command = command.replace(str(DEFAULT_DATA), "../shared/data/expressions_dev")
    if args.models_only:
        rerun_models(args.data, args.out, command)
        print((args.out / "photos.md").read_text())
        return 0
    run(args.data, args.model, args.out, command, with_fer=not args.skip_fer, flip_tta=args.flip_tta)
    print((args.out / "photos.md").read_text())
    print((args.out / "photo_settings.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
