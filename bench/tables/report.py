"""The targets (computed from the measurements) and the Markdown report.

The Markdown is self-contained and starts at heading level 3, so tools/update_readme.py can
paste it into the README as it is."""

from __future__ import annotations

from typing import Any

# (key, what, goal) -- the targets; compute_targets measures each
TARGETS: tuple[tuple[str, str, str], ...] = (
    ("pipeline_p50", "Full pipeline, 640x480 frame, 1 face: p50", "<= 10 ms"),
    ("pipeline_p95", "Full pipeline, 640x480 frame, 1 face: p95", "<= 20 ms"),
    ("classify", "Classification per face (default model as shipped, one pass, batch 1): p50", "<= 1 ms"),
    ("webcam", "Webcam callback keeps up with a 30 FPS camera (share of frames analysed)", ">= 95%"),
    ("fer_speed", "Frame rate vs the `fer` package (640x480, 1 face)", ">= 5x"),
    ("fer_accuracy", "Accuracy vs the `fer` package (FER2013 faces)", "higher"),
    ("fer_agreement", "Agreement with people vs the `fer` package (FER+ majority, same faces)", "higher"),
)


def _find(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


def compute_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target: the measured value (text) and met (True / False / None = not measured)."""
    default_detector, default_model = report["default_detector"], report["default_model"]
    frame = _find(report["pipeline"], detector=default_detector, width=640, height=480, faces=1)
    clf = _find(report["classification"], model=default_model, runtime_key="float")
    webcam = report.get("webcam") or {}
    fer = report.get("fer_package") or {}
    fer_frame = _find(fer.get("frames", []), frame=frame["frame"]) if frame else None
    acc = report.get("accuracy") or {}
    # the default as the app runs it (with flip TTA where chosen); reports before that field: one pass
    as_run = acc.get("default_as_run") or {}
    ours_acc = as_run.get("accuracy", (acc.get("models") or {}).get(default_model))
    fer_acc = acc.get("fer")
    ours_people = as_run.get("ferplus_accuracy", (acc.get("ferplus_models") or {}).get(default_model))
    fer_people = acc.get("fer_ferplus")

    measured: dict[str, tuple[str, bool | None]] = {
        "pipeline_p50": (f"{frame['p50_ms']:.2f} ms", frame["p50_ms"] <= 10) if frame else ("not measured", None),
        "pipeline_p95": (f"{frame['p95_ms']:.2f} ms", frame["p95_ms"] <= 20) if frame else ("not measured", None),
        "classify": ((f"{clf['batch1_p50_ms']:.2f} ms", clf["batch1_p50_ms"] <= 1.0)
                     if clf and "batch1_p50_ms" in clf else ("not measured", None)),
        "webcam": ((f"{webcam['share_analysed'] * 100:.0f}% ({webcam['analysed_fps']:.1f} analysed FPS)",
                    bool(webcam["keeps_up"])) if "share_analysed" in webcam else ("not measured", None)),
        # met is decided on the unrounded ratio of the two medians, never on a rounded one
        "fer_speed": ((f"{fer_frame['fer_p50_ms'] / fer_frame['ours_p50_ms']:.2f}x ({fer_frame['ours_p50_ms']:.1f} "
                       f"vs {fer_frame['fer_p50_ms']:.1f} ms)", fer_frame["fer_p50_ms"] >= 5 * fer_frame["ours_p50_ms"])
                      if fer_frame and fer_frame.get("ours_p50_ms") and fer_frame.get("fer_p50_ms")
                      else ("not measured", None)),
        "fer_accuracy": ((f"{ours_acc * 100:.1f}% vs {fer_acc * 100:.1f}%", ours_acc > fer_acc)
                         if ours_acc is not None and fer_acc is not None else ("not measured", None)),
        "fer_agreement": ((f"{ours_people * 100:.1f}% vs {fer_people * 100:.1f}%", ours_people > fer_people)
                          if ours_people is not None and fer_people is not None else ("not measured", None)),
    }
    return [{"key": key, "target": what, "goal": goal, "measured": measured[key][0], "met": measured[key][1]}
            for key, what, goal in TARGETS]


# --- Markdown -----------------------------------------------------------------------------------


def _ms(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _met(value: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "not measured"}[value]


def _size(n: int | None) -> str:
    return "–" if not n else f"{n / 1e6:.2f} MB"


def _mem(block: dict[str, Any] | None) -> str:
    if not block or block.get("peak_rss_mib") is None:
        return "–"
    return f"{block['peak_rss_mib']:.0f} MiB"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header),
            *("| " + " | ".join(r) + " |" for r in rows), ""]


def render_markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "### Benchmark: speed and accuracy",
        "",
        f"Measured {report['date']} by `{report['command']}` on {m['cpu']} ({m['logical_cpus']} logical CPUs; "
        f"1-minute load {m['load_average_1min_at_start']} at start, {report['load_average_1min_at_end']} at end), "
        f"{m['os']}, Python {m['python']}, LiteRT {m['ai_edge_litert']}, OpenCV {m['opencv']}. "
        f"Default model **{report['default_model']}**"
        + (" with flip TTA, as the app runs it" if report.get("default_flip_tta") else "")
        + f", default detector **{report['default_detector']}**"
        + (" (a **quick** smoke run: few repetitions, numbers are rough)." if report["quick"] else "."),
        "",
        "#### Targets",
        "",
        *_table(["target", "goal", "measured", "met?"],
                [[t["target"], t["goal"], t["measured"], _met(t["met"])] for t in report["targets"]]),
    ]

    lines += ["#### Classification latency per face", "",
              "48x48 face crops from the benchmark frames; p50 / p95 in ms.", ""]
    rows = []
    for r in report["classification"]:
        if r["status"] != "measured":
            rows.append([r["model"], r["runtime"], _size(r.get("file_bytes")), r["status"], "–"])
            continue
        batch_key = next((k for k in r if k.startswith("batch") and k.endswith("per_face_p50_ms")), None)
        rows.append([r["model"], r["runtime"], _size(r.get("file_bytes")),
                     f"{_ms(r['batch1_p50_ms'], 2)} / {_ms(r['batch1_p95_ms'], 2)}",
                     _ms(r.get(batch_key), 2) if batch_key else "–"])
    lines += _table(["model", "runtime", "file", "batch of 1: p50 / p95 ms", "batch of 8: p50 ms per face"], rows)

    lines += ["#### Pipeline per frame (detect + classify + draw)", "",
              f"Real faces pasted onto a no-face photo; model {report['default_model']} as the app runs it. "
              "Faces found: pasted faces a detection overlaps (IoU >= 0.4).", ""]
    lines += _table(["detector", "frame", "faces found", "p50 / p95 ms", "FPS (1000 / p50)"],
                    [[r["detector"], r["frame"], f"{r['faces_found']}/{r['faces']}",
                      f"{_ms(r['p50_ms'])} / {_ms(r['p95_ms'])}", _ms(r["fps"])] for r in report["pipeline"]])

    w = report.get("webcam") or {}
    lines += ["#### Webcam callback", ""]
    if "share_analysed" in w:
        lines += [f"A {w['seconds']:.0f} s stream at {w['camera_fps']} FPS ({w['frame']}) simulated in real time "
                  f"through `{w['callback']}` (default detector and model), newest frame wins (frames that arrive while one is analysed "
                  "are skipped). Added latency: camera frame queued -> annotated frame returned.", ""]
        lines += _table(["frames sent", "analysed", "analysed FPS", "share analysed", "added latency p50 / p95 ms",
                         "analysis p50 / p95 ms"],
                        [[str(w["frames_sent"]), str(w["frames_analysed"]), _ms(w["analysed_fps"]),
                          f"{w['share_analysed'] * 100:.1f}%",
                          f"{_ms(w['added_latency_p50_ms'])} / {_ms(w['added_latency_p95_ms'])}",
                          f"{_ms(w['analysis_p50_ms'])} / {_ms(w['analysis_p95_ms'])}"]])
    else:
        lines += [f"Not measured: {w.get('status', 'skipped')}.", ""]

    lines += ["#### Cold start and memory", ""]
    rows = []
    lib = report.get("library_start") or {}
    if lib.get("status") == "measured":
        rows.append(["fer_core in a fresh Python process (import, load default model + detector, analyse a frame)",
                     f"{lib['first_result_s']:.2f} s to first result (import {lib['import_s']:.2f} s, "
                     f"load {lib['load_s']:.2f} s, first frame {lib['first_frame_s']:.2f} s)", _mem(lib)])
    else:
        rows.append(["fer_core in a fresh Python process", lib.get("status", "not measured"), "–"])
    app = report.get("app_start") or {}
    if app.get("status") == "measured":
        rows.append(["`streamlit run app.py` (headless)", f"{app['health_s']:.2f} s to `/_stcore/health`",
                     _mem(app.get("memory_at_health"))])
        if "first_result_s" in app:
            rows.append(["… then the Photo page, one photo uploaded (loads model and detector)",
                         f"{app['first_result_s']:.2f} s from spawn to the first result (page ready "
                         f"{app['page_ready_s']:.2f} s, photo analysed {app['photo_result_s']:.2f} s)",
                         _mem(app.get("memory_after_first_result"))])
        else:
            rows.append(["… then the Photo page, one photo uploaded", app.get("page_view", "not measured"), "–"])
    else:
        rows.append(["`streamlit run app.py`", app.get("status", "not measured"), "–"])
    fer = report.get("fer_package") or {}
    if fer.get("status") == "measured":
        rows.append([f"`fer` {fer['version']} in a fresh Python process (import, `FER()`, analyse a frame)",
                     f"{fer['first_result_s']:.2f} s to first result (import {fer['import_s']:.2f} s)", _mem(fer)])
    lines += _table(["process", "cold start", "peak RSS"], rows)
    lines += ["Peak RSS is the kernel's high-water mark (VmHWM) of the process and its children. The app's "
              "first result leaves out the browser's own start-up.", ""]

    acc = report.get("accuracy") or {}
    lines += ["#### Accuracy", ""]
    if acc.get("status") == "measured":
        lines += [f"{acc['dataset']}; each classifier gets the faces directly (no detection). "
                  "`fer` resizes them to its 64x64 input as its own pipeline does.", ""]
        people = acc.get("ferplus_models") or {}

        def pct(x: float | None) -> str:
            return "–" if x is None else f"{x * 100:.1f}%"

        rows = [[name, pct(people.get(name)), pct(value)] for name, value in acc["models"].items()]
        as_run = acc.get("default_as_run")
        if as_run and as_run.get("flip_tta"):
            rows.insert(0, [f"**{report['default_model']}** + flip TTA (the default as the app runs it)",
                            pct(as_run.get("ferplus_accuracy")), pct(as_run.get("accuracy"))])
        if acc.get("fer") is not None:
            rows.append([f"`fer` {fer.get('version', '')} (its default model)".replace("  ", " "),
                         pct(acc.get("fer_ferplus")), pct(acc["fer"])])
        lines += _table(["classifier", "agrees with people (FER+ majority)", "FER2013 labels"], rows)
        if acc.get("ferplus_faces"):
            lines += [f"Agreement with people: top-1 against the FER+ majority of ten annotators, on the "
                      f"{acc['ferplus_faces']:,} of these faces whose majority is one of the 7 emotions.", ""]
    else:
        lines += [f"Not measured: {acc.get('status', 'skipped')}.", ""]

    lines += ["#### Compared with the `fer` package", ""]
    if fer.get("status") == "measured":
        lines += [f"`fer` {fer['version']}, {fer['configuration']}, in a subprocess on the same inputs. "
                  f"Ours: default detector and model. Speed-up = fer's p50 / ours.", ""]
        lines += _table(["frame", "ours p50 / p95 ms", "fer p50 / p95 ms", "speed-up", "faces found ours / fer"],
                        [[r["frame"], f"{_ms(r['ours_p50_ms'])} / {_ms(r['ours_p95_ms'])}",
                          f"{_ms(r['fer_p50_ms'])} / {_ms(r['fer_p95_ms'])}", f"{_ms(r['speedup'], 2)}x",
                          f"{r['ours_faces_found']} / {r['fer_faces_found']} of {r['faces']}"]
                         for r in fer["frames"]])
        t = fer["photos_total"]
        lines += [f"Real photos ({len(fer['photos'])}, {t['faces']} faces), one pass over all: ours "
                  f"{t['ours_ms']:.0f} ms, fer {t['fer_ms']:.0f} ms ({_ms(t['speedup'], 2)}x); faces found "
                  f"{t['ours_faces_found']} vs {t['fer_faces_found']}, false detections "
                  f"{t['ours_false_detections']} vs {t['fer_false_detections']}. Classification alone, "
                  f"batch of 1, p50: fer {_ms(fer['classify_batch1_p50_ms'], 2)} ms, ours "
                  f"{_ms(fer.get('ours_classify_batch1_p50_ms'), 2)} ms.", ""]
    else:
        lines += [f"Not measured: {fer.get('status', 'skipped')}.", ""]

    if report.get("notes"):
        lines += ["Notes:", "", *(f"- {n}" for n in report["notes"]), ""]
    return "\n".join(lines).rstrip() + "\n"
