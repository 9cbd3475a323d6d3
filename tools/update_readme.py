"""Rewrite the generated sections of README.md from the files our own code wrote:

    <!-- BEGIN models --> ... <!-- END models -->          models/*/metrics.json
    <!-- BEGIN detectors --> ... <!-- END detectors -->    bench/results/detectors.md
    <!-- BEGIN bench --> ... <!-- END bench -->            bench/results/report.md
    <!-- BEGIN photos --> ... <!-- END photos -->          bench/results/photos.md (python -m bench.photo_settings)
    <!-- BEGIN framing --> ... <!-- END framing -->        bench/results/framing.md (python -m bench.framing)
    <!-- BEGIN photo_settings --> ... <!-- END photo_settings -->   bench/results/photo_settings.md
    <!-- BEGIN train_speed --> ... <!-- END train_speed -->         bench/results/train_speed.md
    <!-- BEGIN install_cost --> ... <!-- END install_cost -->       bench/results/install_cost.md
    <!-- BEGIN load --> ... <!-- END load -->              bench/results/load.md (python -m bench.load)
    <!-- BEGIN soak --> ... <!-- END soak -->              bench/results/soak.md (python -m bench.soak)
    <!-- BEGIN fuzz_image --> ... <!-- END fuzz_image -->  bench/results/fuzz_image.md (python -m fuzz.report image)
    <!-- BEGIN image_size --> ... <!-- END image_size -->  bench/results/image_size.md (python -m bench.image_size)

Run `python tools/update_readme.py` after evaluating models or running a benchmark; the test
suite checks that README.md is up to date with those files."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fer_core.model_zoo import default_flip_tta, default_model_name, list_models, most_accurate  # noqa: E402


def default_rule(root: Path | None) -> str:
    import json

    from fer_core.model_zoo import INDEX_FILE, models_dir

    index = json.loads((Path(root or models_dir()) / INDEX_FILE).read_text())
    return index.get("default_rule", "the best single model on PublicTest at <= 2 ms per face")


def default_tta_sentence(root: Path | None, models: list, default: str) -> str:
    """How the app runs the default: with flip TTA when select-default decided so."""
    if not default_flip_tta(root):
        return " The app runs it without flip TTA by default."
    x = next(m for m in models if m.name == default).metrics() or {}
    tta = x["variants"]["flip_tta"]
    return (f" The app runs it with flip TTA by default (higher on PublicTest, {100 * tta['publictest_accuracy']:.2f}% "
            f"instead of {100 * x['publictest_accuracy']:.2f}%, at twice the work: still <= 2 ms per face): "
            f"{100 * tta['accuracy']:.2f}% on PrivateTest as the app runs it.")


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


def models_table(root: Path | None = None) -> str:
    models = list_models(root)
    default = default_model_name(root)
    rows = ["| model | agrees with people (FER+) | + flip TTA | FER2013 labels | + flip TTA | int8 | macro-F1 | ECE | "
            "parameters | .tflite size | ms/face |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for m in models:
        x = m.metrics()
        if not x:
            rows.append(f"| {m.name} | not evaluated | | | | | | | | | |")
            continue
        tta = x["variants"].get("flip_tta", {}).get("accuracy")
        q = x["variants"].get("int8")
        q_text = "—" if not q else f"{100 * q['accuracy']:.2f}%" + ("" if q.get("shipped", True) else " (not shipped)")
        speed = x.get("speed", {}).get("ms_per_face_batch1_p50")
        params = f"{x['parameters']:,}" if x.get("parameters") else "—"
        name = f"**{m.name}** (default)" if m.name == default else m.name
        fp = x.get("ferplus", {}).get("accuracy")
        fp_tta = x["variants"].get("flip_tta", {}).get("ferplus", {}).get("accuracy")
        rows.append(
            f"| {name} | {_pct(fp)} | {_pct(fp_tta)} | "
            f"{100 * x['accuracy']:.2f}% | {'—' if tta is None else f'{100 * tta:.2f}%'} | {q_text} | "
            f"{x['macro_f1']:.3f} | {x['ece']:.3f} | {params} | {x['file_bytes'] / 1e6:.2f} MB | "
            f"{'—' if speed is None else f'{speed:.2f}'} |"
        )
    any_metrics = next((m.metrics() for m in models if m.metrics()), None)
    if any_metrics:
        best, flip = most_accurate(root)
        x = next(m for m in models if m.name == best).metrics() or {}
        chosen = x["variants"]["flip_tta"] if flip else x
        rows.append("")
        rows.append(f"Most accurate option, chosen on PublicTest over every model with and without flip TTA: "
                    f"**{best}{' + flip TTA' if flip else ''}**, {100 * chosen['accuracy']:.2f}% on PrivateTest "
                    f"on FER2013's labels (PublicTest {100 * chosen['publictest_accuracy']:.2f}%). The default follows "
                    f"its own rule: {default_rule(root)} (`python -m fer_core select-default`)."
                    + default_tta_sentence(root, models, default))
        ds = any_metrics["dataset"]
        fp = any_metrics.get("ferplus")
        if fp:
            rows.append("")
            rows.append(f"*Agrees with people*: top-1 against the most-voted answer of ten FER+ annotators, on the "
                        f"{fp['count']:,} {ds['split']} faces whose majority is one of the 7 emotions (the FER+ "
                        f"benchmark). *FER2013 labels*: top-1 against the single label FER2013 gives each face.")
        rows.append("")
        rows.append(f"All on FER2013 {ds['split']} ({ds['images']:,} images), scored by `python -m fer_core evaluate` "
                    f"on the shipped `.tflite` files, with each model's temperature (ECE: expected calibration "
                    f"error of the shown probabilities; see below); ms/face is the median for one face per call on "
                    f"{any_metrics.get('speed', {}).get('machine', 'the evaluating machine')}.")
    return "\n".join(rows)


def _file_section(path: Path) -> str:
    return path.read_text().strip() if path.is_file() else f"(not generated yet: {path.relative_to(ROOT)})"


def sections() -> dict[str, str]:
    return {
        "models": models_table(),
        "detectors": _file_section(ROOT / "bench" / "results" / "detectors.md"),
        "bench": _file_section(ROOT / "bench" / "results" / "report.md"),
        "photos": _file_section(ROOT / "bench" / "results" / "photos.md"),
        "framing": _file_section(ROOT / "bench" / "results" / "framing.md"),
        "photo_settings": _file_section(ROOT / "bench" / "results" / "photo_settings.md"),
        "train_speed": _file_section(ROOT / "bench" / "results" / "train_speed.md"),
        "install_cost": _file_section(ROOT / "bench" / "results" / "install_cost.md"),
        "load": _file_section(ROOT / "bench" / "results" / "load.md"),
        "soak": _file_section(ROOT / "bench" / "results" / "soak.md"),
        "fuzz_image": _file_section(ROOT / "bench" / "results" / "fuzz_image.md"),
        "image_size": _file_section(ROOT / "bench" / "results" / "image_size.md"),
    }


def render(text: str) -> str:
    for name, body in sections().items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n)(?:.*?\n)?(<!-- END {name} -->)", re.S)
        text, found = pattern.subn(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
        if found != 1:
            raise SystemExit(f"README.md needs exactly one '<!-- BEGIN {name} -->' ... '<!-- END {name} -->' pair")
    return text


def main() -> int:
    readme = ROOT / "README.md"
    new = render(readme.read_text())
    if "--check" in sys.argv:
        return 0 if new == readme.read_text() else 1
    readme.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
