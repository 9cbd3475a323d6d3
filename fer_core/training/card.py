"""Model cards written from a model's own files (train_config.json, history.csv, metrics.json):
every number in a card comes from a training or evaluation run, none is typed in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fer_core.blend import WEIGHT_STEP
from fer_core.labels import EMOTIONS
from fer_core.model_zoo import CARD_FILE, ModelInfo, read_index

INTENDED_USE = """\
## Intended use
- Demonstrating and comparing facial-expression classifiers; research and teaching; personal
  photo and webcam experiments by the person in the picture, with their consent.
- It estimates which of 7 prototypical *expressions* a face shows. It does not read inner
  feelings, intentions or truthfulness, and it does not identify people.

## Out of scope
- Any decision about a person: hiring, grading, policing, credit, insurance, medical or
  psychological assessment.
- Emotion inference in workplaces and education institutions, which the EU AI Act prohibits
  (Article 5(1)(f), applicable since 2 February 2025), except for medical or safety reasons.
- Surveillance or analysis of people who have not agreed to it. Faces are personal data
  (biometric data under the GDPR when processed to identify someone).
"""

DATA = """\
## Data
FER2013 (grey 48x48 faces from web image search, 7 classes; Goodfellow et al., 2013). Official
split from the file prefixes: Training for training, PublicTest for epoch/model selection,
PrivateTest for the results above and nothing else. FER+ (Barsoum et al. 2016, MIT licence) gives
ten annotators' votes for the same faces: the "agreement with people" figures, and the targets of
models trained with `--labels ferplus`. The faces are mostly frontal and young-adult,
of uneven demographic balance, and the labels are noisy. Disgust is by far the rarest class (see
the support column above); the recipe's `class_weight_power` can weight the loss by
(n_max/n_c)^power so it is not ignored (at the cost of overall accuracy).
"""


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _confusions(cm: list[list[int]], top: int = 4) -> list[str]:
    """The largest off-diagonal cells as 'fear -> sad: 21% of fear'."""
    m = np.asarray(cm, dtype=np.float64)
    rows = m.sum(axis=1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    np.fill_diagonal(share, 0)
    flat = np.argsort(-share, axis=None)[:top]
    return [f"{EMOTIONS[i]} taken for {EMOTIONS[j]}: {_pct(share[i, j])} of {EMOTIONS[i]} faces"
            for i, j in (np.unravel_index(k, share.shape) for k in flat)]


def _hours(cfg: dict[str, Any]) -> str:
    hw = cfg.get("hardware", "unknown hardware")
    hw = "; then ".join(dict.fromkeys(hw)) if isinstance(hw, list) else hw  # one entry per (resumed) session
    return f"- Training time {cfg.get('train_seconds', 0) / 3600:.2f} hours on: {hw}."


def _schedule_line(c: dict[str, Any], cfg: dict[str, Any]) -> list[str]:
    if "schedule" in c:  # the first recipe (Adam, cosine, early stopping), kept for the models it trained
        return [
            f"- {c['optimizer']} at learning rate {c['lr']:g}, {c['schedule']} schedule, batch {c['batch_size']}, "
            f"label smoothing {c['label_smoothing']:g}, weight decay {c['weight_decay']:g}, class-weight power "
            f"{c['class_weight_power']:g}, augmentation strength {c['augment_strength']:g}, seed {c['seed']}.",
            f"- Ran {cfg.get('epochs_run', '?')} of {c['epochs']} planned epochs (the first recipe: a GPU schedule "
            f"cut short to fit a CPU session, so it never annealed as planned).",
        ]
    budget = f"a {c['minutes']:g}-minute budget" if c.get("minutes") else f"{c['epochs']} epochs"
    ema = f"EMA of the weights (momentum {c['ema']:g}, BatchNorm re-estimated)" if c.get("ema") else "no EMA"
    optimizer = "SGD with Nesterov momentum 0.9" if c["optimizer"] == "sgd" else c["optimizer"]
    return [
        f"- {optimizer}, peak learning rate {c['lr']:g}: linear warm-up over "
        f"{c['warmup']:.0%} of the steps, then linear decay to zero; batch {c['batch_size']}, label smoothing "
        f"{c['label_smoothing']:g}, decoupled weight decay {c['weight_decay']:g}, class-weight power "
        f"{c['class_weight_power']:g}, augmentation strength {c['augment_strength']:g} (flip, rotation, scale, "
        f"shift, brightness/contrast, random erasing), {ema}, seed {c['seed']}.",
        *([f"- Distilled from `{c['teacher']}`: targets are {1 - c['teacher_weight']:.0%} labels and "
           f"{c['teacher_weight']:.0%} the teacher's probabilities at temperature {c['teacher_temperature']:g}."]
          if c.get("teacher") else []),
        f"- {budget}: {cfg.get('epochs_run', '?')} of {cfg.get('total_epochs', '?')} epochs run, the schedule "
        f"annealed to zero. The shipped weights are the {cfg.get('best_weights', 'raw')} weights of epoch "
        f"{cfg.get('best_epoch', '?')}, the best on PublicTest.",
    ]


def _val_score(c: dict[str, Any]) -> str:
    return "accuracy" if c.get("labels", "fer2013") == "fer2013" else "agreement with the FER+ majority"


def _labels_line(c: dict[str, Any]) -> list[str]:
    labels = c.get("labels", "fer2013")
    if labels == "fer2013":
        return ["- Targets: FER2013's one label per face."]
    what = "the FER+ vote distribution of ten annotators" if labels == "ferplus" else \
        f"{labels[4:]} x the FER+ vote distribution + the rest FER2013's label"
    return [f"- Targets: {what} (`--labels {labels}`); faces most annotators could not give one of the 7 "
            "emotions were left out, and PublicTest's FER+ majority chose the epoch."]


def _recipe(info: ModelInfo, cfg: dict[str, Any] | None) -> str:
    if info.is_ensemble and info.weights:
        fit = read_index(info.folder.parent)["models"][info.name].get("blend", {})
        parts = ", ".join(f"{w:g} x {m}" for w, m in zip(info.weights, info.members))
        return (f"## Recipe\nA blend: the probabilities of {parts} (see their cards), weighted. The weights were "
                f"chosen on {fit.get('fitted_on', 'PublicTest')} by `python -m fer_core blend` from a grid of "
                f"steps of {WEIGHT_STEP:g}: {fit.get('rule', 'see models/index.json')} (PublicTest: "
                f"{fit.get('publictest_people', float('nan')):.2%} agreement with people, "
                f"{fit.get('publictest_fer2013', float('nan')):.2%} on FER2013's labels). No weights of its own.\n")
    if info.is_ensemble:
        return "## Recipe\nThe mean of the probabilities of: " + ", ".join(info.members) + " (see their cards).\n"
    if not cfg:
        return "## Recipe\nNo train_config.json shipped with this model.\n"
    c = cfg["config"]
    commands = [cmd for cmd in cfg.get("commands", [cfg.get("command")]) if cmd] or ["(not recorded)"]
    lines = [
        "## Recipe",
        f"- Architecture `{c['arch']}`" + (f" (width {c['width']})" if c.get("width") else "")
        + f", {cfg.get('parameters', '?'):,} parameters.",
        *_schedule_line(c, cfg),
        *_labels_line(c),
        f"- Best PublicTest {_val_score(c)} {_pct(cfg.get('best_val_accuracy', float('nan')))} at epoch "
        f"{cfg.get('best_epoch', '?')}"
        + (f" ({_pct(cfg['best_val_accuracy_flip_tta'])} with flip TTA)" if "best_val_accuracy_flip_tta" in cfg
           else "") + ".",
        _hours(cfg),
        f"- Data: {cfg['dataset']['train_images']:,} training and {cfg['dataset']['val_images']:,} "
        f"validation images ({cfg['dataset']['split_note']}).",
        "",
        "Exact command" + ("s (the run was resumed)" if len(commands) > 1 else "") + ":",
        "```",
        *commands,
        "```",
    ]
    return "\n".join(lines) + "\n"


def _ferplus_results(m: dict[str, Any]) -> list[str]:
    """The second benchmark: how often the model agrees with what most of ten people said."""
    fp = m.get("ferplus")
    if not fp:
        return []
    rows = ["", "### Agreement with people (FER+ crowd votes)",
            f"FER2013's labels are one person's guess each; FER+ had ten people label every face again. On the "
            f"{fp['count']:,} {m['dataset']['split']} faces whose most-voted answer is one of the 7 emotions:", "",
            "| variant | agrees with the majority | every expression counted equally | macro-F1 | "
            "top answer got >= 2 of 10 votes | cross-entropy vs votes | ECE vs votes |", "|---|---|---|---|---|---|---|"]
    for label, v in (("float32", fp), ("float32 + flip TTA", m.get("variants", {}).get("flip_tta", {}).get("ferplus"))):
        if v:
            balanced = _pct(v["balanced_accuracy"]) if "balanced_accuracy" in v else "-"
            rows.append(f"| {label} | {_pct(v['accuracy'])} | {balanced} | {v['macro_f1']:.3f} | "
                        f"{_pct(v['top1_has_2_votes'])} | {v['vote_cross_entropy']:.3f} | {v['vote_ece']:.3f} |")
    if "publictest_accuracy" in fp:
        rows += ["", f"PublicTest agreement with the majority (what chooses the default): {_pct(fp['publictest_accuracy'])}."]
    rows += ["", "ECE vs votes: how far the shown probability of the top emotion is from the share of people who "
                 "chose it (0 = \"says 70% happy\" when 70% of people said happy)."]
    return rows


def _dataset_name(source: object) -> str:
    """The data set a card names: its folder's name, never the machine's path to it."""
    name = Path(str(source)).name or str(source)
    return "FER2013" if name.lower() == "fer2013" else name


def _results(m: dict[str, Any] | None) -> str:
    if not m:
        return "## Results\nNot evaluated yet: run `python -m fer_core evaluate`.\n"
    ds = m["dataset"]
    rows = [
        "## Results",
        f"On {ds['split']} ({ds['images']:,} images of {_dataset_name(ds['source'])}), as the app runs it "
        f"({m['runtime']}, `{m.get('file') or 'members'}`, {m['file_bytes'] / 1e6:.2f} MB), evaluated {m['date']}:",
        "",
        "| variant | accuracy | macro-F1 | top-2 | ECE |",
        "|---|---|---|---|---|",
        f"| float32 | {_pct(m['accuracy'])} | {m['macro_f1']:.3f} | {_pct(m['top2_accuracy'])} | {m['ece']:.3f} |",
    ]
    for key, label in (("flip_tta", "float32 + flip TTA"), ("int8", "dynamic-range int8")):
        v = m.get("variants", {}).get(key)
        if v:
            note = "" if v.get("shipped", True) else " (not shipped)"
            rows.append(f"| {label}{note} | {_pct(v['accuracy'])} | {v['macro_f1']:.3f} | "
                        f"{_pct(v['top2_accuracy'])} | {v['ece']:.3f} |")
    if m.get("temperature") not in (None, 1.0):
        rows += ["", f"Probabilities are calibrated: the model's scores are divided by a temperature of "
                     f"{m['temperature']:.2f}, fitted on PublicTest by `python -m fer_core calibrate`. It changes how "
                     f"sure the model says it is (ECE above), not which emotion one pass ranks first."]
    if m.get("prior_strength"):
        rows += ["", f"A prior correction of strength {m['prior_strength']:g} is applied after it (fer_core.calibration): "
                     f"the training faces' own mix of expressions (mostly neutral and happy, hardly any disgust) is "
                     f"divided out, so a face people split between neutral and angry is not called neutral just "
                     f"because neutral was common. The strength was chosen on PublicTest (`models/index.json` "
                     f"holds the rule and the table); every figure here includes it."]
    if "publictest_accuracy" in m:
        tta_public = m.get("variants", {}).get("flip_tta", {}).get("publictest_accuracy")
        rows += ["", f"PublicTest accuracy (the only split used to choose epochs, the default model and the "
                     f"most accurate option): {_pct(m['publictest_accuracy'])}"
                     + (f"; with flip TTA {_pct(tta_public)}." if tta_public is not None else ".")]
    rows += _ferplus_results(m)
    rows += ["", "| emotion | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for name, pc in m["per_class"].items():
        rows.append(f"| {name} | {pc['precision']:.3f} | {pc['recall']:.3f} | {pc['f1']:.3f} | {pc['support']} |")
    speed = m.get("speed")
    if speed:
        rows += ["", f"Speed: {speed['ms_per_face_batch1_p50']:.3f} ms per face (median, one face per call), "
                     f"{speed['ms_per_face_batch8_p50']:.3f} ms per face in batches of 8; LiteRT, "
                     f"{speed['threads']} threads, {speed['machine']}"
                     + (f" (measured {speed['measured']})" if speed.get("measured") else "") + "."]
    weakest = min(m["per_class"].items(), key=lambda kv: kv[1]["f1"])
    rows += ["", "## Known weaknesses",
             f"- Weakest class: {weakest[0]} (F1 {weakest[1]['f1']:.3f}).",
             *[f"- {line}." for line in _confusions(m["confusion_matrix"])],
             "- Trained on 48x48 grey crops: profile views, occlusion (masks, hands), strong make-up, "
             "children and older people are under-represented; accuracy on them is unknown."]
    return "\n".join(rows) + "\n"


def render_card(info: ModelInfo) -> str:
    m, cfg = info.metrics(), info.train_config()
    head = f"# Model card: {info.name}\n\n{info.title}\n\n*Written by `fer_core.training.card` from this " \
           f"folder's train_config.json and metrics.json; regenerate with `python -m fer_core card {info.name}`.*\n"
    return "\n".join([head, _results(m), _recipe(info, cfg), DATA, INTENDED_USE])


def write_card(info: ModelInfo) -> str:
    text = render_card(info)
    (info.folder / CARD_FILE).write_text(text, encoding="utf-8")
    return text
