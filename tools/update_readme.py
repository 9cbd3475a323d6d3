"""Rewrite the generated sections of README.md and docs/*.md from the files our own code wrote
(each marker pair appears once, in whichever of those files it lives):

    <!-- BEGIN headline --> ... <!-- END headline -->      the default's metrics.json, photos_*.json, bench/results/report.json
    <!-- BEGIN models --> ... <!-- END models -->          models/*/metrics.json
    <!-- BEGIN detectors --> ... <!-- END detectors -->    bench/results/detectors.md
    <!-- BEGIN bench --> ... <!-- END bench -->            bench/results/report.md
    <!-- BEGIN photos --> ... <!-- END photos -->          bench/results/photos.md (python -m bench.studies.photo_settings)
    <!-- BEGIN framing --> ... <!-- END framing -->        bench/results/framing.md (python -m bench.studies.framing)
    <!-- BEGIN photo_settings --> ... <!-- END photo_settings -->   bench/results/photo_settings.md
    <!-- BEGIN train_speed --> ... <!-- END train_speed -->         bench/results/train_speed.md
    <!-- BEGIN install_cost --> ... <!-- END install_cost -->       bench/results/install_cost.md
    <!-- BEGIN load --> ... <!-- END load -->              bench/results/load.md (python -m bench.capacity.load)
    <!-- BEGIN soak --> ... <!-- END soak -->              bench/results/soak.md (python -m bench.capacity.soak)
    <!-- BEGIN live_profile --> ... <!-- END live_profile -->   bench/results/live_profile.md (python -m bench.capacity.live_profile)
    <!-- BEGIN live_floor --> ... <!-- END live_floor -->       bench/results/live_floor.md (the same run, for the README)
    <!-- BEGIN sizing --> ... <!-- END sizing -->          fer_core/live/sizing.json (python -m bench.capacity.load)
    <!-- BEGIN detect_every --> ... <!-- END detect_every -->   bench/results/detect_every.md (python -m bench.studies.detect_every)
    <!-- BEGIN fuzz_image --> ... <!-- END fuzz_image -->  bench/results/fuzz_image.md (python -m fuzz.report image)
    <!-- BEGIN image_size --> ... <!-- END image_size -->  bench/results/image_size.md (python -m bench.tables.image_size)
    <!-- BEGIN people_frontier --> ... <!-- END people_frontier -->  bench/results/people_frontier.md

Run `python tools/update_readme.py` after evaluating models or running a benchmark; the test
suite checks that README.md and docs/ are up to date with those files (`--check`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fer_core.model_zoo import (  # noqa: E402
    default_flip_tta,
    default_model_name,
    default_rule,
    get_model,
    list_models,
    most_accurate,
)
from fer_core.training.export import choose_default  # noqa: E402


def _as_run(metrics: dict, flip: bool) -> dict:
    return metrics["variants"]["flip_tta"] if flip else metrics


def default_sentence(root: Path | None, models: list, default: str) -> str:
    """How the app runs the default (flip TTA or not, as select-default decided on PublicTest),
    its PrivateTest figures so, and what the people-first rule costs on FER2013's labels: the
    model the FER2013-labels rule would choose, beside it."""
    by_name = {m.name: m.metrics() or {} for m in models}
    flip, x = default_flip_tta(root), by_name[default]
    on_votes = default_rule(root).startswith("highest FER+")

    def public(record: dict) -> float:
        return (record.get("ferplus", {}) if on_votes else record)["publictest_accuracy"]

    run = _as_run(x, flip)
    if flip:
        text = (f" The app runs it with flip TTA (higher on PublicTest, {_pct(public(run))} instead of "
                f"{_pct(public(x))}, at twice the work: still <= 2 ms per face)")
    else:
        text = " The app runs it without flip TTA"
    people = run.get("ferplus", {}).get("accuracy")
    text += (f": on PrivateTest as the app runs it, {_pct(people)} agreement with people and "
             if people is not None else ": on PrivateTest as the app runs it, ")
    text += f"{_pct(run['accuracy'])} on FER2013's labels."
    cost = people_first_cost(root)
    if cost:
        text += " What putting people first costs: " + cost
    return text


def people_first_cost(root: Path | None = None) -> str:
    """One sentence: the model the FER2013-labels rule would choose instead of the default, and
    how it scores on both benchmarks against it ('' when the rule ranks on FER2013's labels or
    both rules agree)."""
    if not default_rule(root).startswith("highest FER+"):
        return ""
    try:
        alt = choose_default(root, benchmark="fer2013")
    except ValueError:
        return ""
    default, flip = default_model_name(root), default_flip_tta(root)
    if alt.name == default and alt.flip_tta == flip:
        return ""
    run = _as_run(get_model(default, root).metrics() or {}, flip)
    other = _as_run(get_model(alt.name, root).metrics() or {}, alt.flip_tta)
    return (f"the model the FER2013-labels rule would choose, `{alt.name}`{' + flip TTA' if alt.flip_tta else ''}, "
            f"scores {_pct(other['accuracy'])} on FER2013's labels ({100 * (other['accuracy'] - run['accuracy']):+.2f} "
            f"points against the default) and {_pct(other.get('ferplus', {}).get('accuracy'))} agreement with people.")


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
                    + default_sentence(root, models, default))
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


def headline(root: Path | None = None) -> str:
    """One paragraph for the front page: how often the default, as the app runs it, says what
    people say, and the `fer` package beside it where `python -m bench` measured it."""
    import json

    name = default_model_name(root)
    info = get_model(name, root)
    x = info.metrics() or {}
    if not x:
        return f"The default model, {name}, has not been evaluated yet (`python -m fer_core evaluate`)."
    run = x["variants"]["flip_tta"] if default_flip_tta(root) and "flip_tta" in x.get("variants", {}) else x
    parts = [f"The default model (`{name}`, as the app runs it)"]
    fp = run.get("ferplus")
    if fp:
        parts.append(f" agrees with the majority of ten people on {_pct(fp['accuracy'])} of the {fp['count']:,} "
                     f"FER2013 {x['dataset']['split']} faces whose majority is an emotion (FER+ votes), and")
    parts.append(f" matches FER2013's own one-person labels on {_pct(run['accuracy'])} of its "
                 f"{x['dataset']['images']:,} faces.")
    photos = info.photo_metrics()
    for stem, p in photos.items():
        parts.append(f" End to end on {p['photos']} posed photos of real people ({stem.removeprefix('photos_')}, "
                     f"detector and crop included{', flip TTA on' if p.get('flip_tta') else ', flip TTA off'}): "
                     f"{_pct(p['accuracy'])}.")
    report = ROOT / "bench" / "results" / "report.json"
    if report.is_file():
        acc = json.loads(report.read_text()).get("accuracy", {})
        if acc.get("fer") is not None:
            people = acc.get("fer_ferplus")
            parts.append(f" The `fer` package on the same faces: {_pct(acc['fer'])} on FER2013's labels"
                         + (f", {_pct(people)} agreement with people" if people is not None else "")
                         + " (`python -m bench`).")
    parts.append(f" How the default is chosen: {default_rule(root)} (`python -m fer_core select-default`).")
    cost = people_first_cost(root)
    if cost:
        parts.append(" What putting people first costs: " + cost)
    parts.append(" Details: [docs/models.md](docs/models.md).")
    return "".join(parts)


def sizing_line() -> str:
    """The sizing rule bench.capacity.load wrote, in one sentence for the README."""
    import json

    path = ROOT / "fer_core" / "live" / "sizing.json"  # fer_core.live.capacity reads it at import
    if not path.is_file():
        return f"(not generated yet: {path.relative_to(ROOT)})"
    rule = json.loads(path.read_text())
    return (f"One {rule['cpus']}-core server ({rule['processor']}) held **{rule['max_streams']} live webcams** with every "
            f"stream at >= {rule['target_fps']:g} analysed FPS, {rule['streams_at_15fps']} at >= {rule['high_fps']:g}; "
            f"{rule['cores_per_stream']} server cores per stream (`{rule['measured_by']}`, model `{rule['model']}`"
            f"{' with flip TTA' if rule['flip_tta'] else ''}, {rule['date']}). `FER_MAX_STREAMS`' default is that "
            f"number, scaled down in proportion where a process has fewer CPUs (affinity or cgroup quota). "
            f"Details: [Many webcams at once](docs/capacity.md).")


def _file_section(path: Path) -> str:
    return path.read_text().strip() if path.is_file() else f"(not generated yet: {path.relative_to(ROOT)})"


def sections() -> dict[str, str]:
    return {
        "headline": headline(),
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
        "live_profile": _file_section(ROOT / "bench" / "results" / "live_profile.md"),
        "live_floor": _file_section(ROOT / "bench" / "results" / "live_floor.md"),
        "sizing": sizing_line(),
        "detect_every": _file_section(ROOT / "bench" / "results" / "detect_every.md"),
        "fuzz_image": _file_section(ROOT / "bench" / "results" / "fuzz_image.md"),
        "image_size": _file_section(ROOT / "bench" / "results" / "image_size.md"),
        "people_frontier": _file_section(ROOT / "bench" / "results" / "people_frontier.md"),
    }


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def render(texts: dict[Path, str]) -> dict[Path, str]:
    """Each marker pair filled in, in the one document that holds it."""
    out = dict(texts)
    for name, body in sections().items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n)(?:.*?\n)?(<!-- END {name} -->)", re.S)
        found = 0
        for path, text in out.items():
            out[path], n = pattern.subn(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
            found += n
        if found != 1:
            raise SystemExit(f"README.md and docs/ need exactly one '<!-- BEGIN {name} -->' ... "
                             f"'<!-- END {name} -->' pair; found {found}")
    return out


def main() -> int:
    texts = {path: path.read_text() for path in documents()}
    new = render(texts)
    if "--check" in sys.argv:
        stale = [str(p.relative_to(ROOT)) for p in texts if new[p] != texts[p]]
        if stale:
            print("stale: " + ", ".join(stale), file=sys.stderr)
        return 1 if stale else 0
    for path, text in new.items():
        if text != texts[path]:
            path.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
