"""The benchmark suite: `python -m bench --quick` against the tiny zoo writes a complete report,
and the targets are computed from the measurements. Never asserts on speed."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.tables.report import TARGETS, compute_targets, render_markdown
from tests.conftest import FER2013, ROOT

FER_INSTALLED = importlib.util.find_spec("fer") is not None


@pytest.fixture(scope="module")
def quick_report(tiny_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench")
    # --no-download: scikit-image photos only; the fer part runs where `fer` is installed
    # (bench/requirements.txt), otherwise the report must say it was not measured
    env = {**os.environ, "FER_MODELS_DIR": str(tiny_models_dir), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--no-download", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "report.json").read_text()), (out / "report.md").read_text()


def _positive(row: dict, *keys: str) -> None:
    for key in keys:
        assert isinstance(row[key], (int, float)) and row[key] > 0, (key, row)


def test_quick_run_measures_every_part(quick_report):
    report, _ = quick_report
    assert report["quick"] is True
    assert report["models"] == ["tiny"] and report["default_model"] == "tiny"
    assert report["main_process_imported_tensorflow"] is False  # TensorFlow stays in subprocesses
    assert report["machine"]["logical_cpus"] >= 1

    assert len(report["classification"]) == 3  # LiteRT float32, int8 (measured or "not shipped"), Keras
    rows = [r for r in report["classification"] if r["status"] == "measured"]
    assert {r["runtime"] for r in rows} >= {"LiteRT float32"}
    assert any(r["runtime"].startswith("Keras") for r in rows), report["classification"]
    for row in rows:
        _positive(row, "batch1_p50_ms", "batch1_p95_ms", "batch8_per_face_p50_ms")
        assert row["batch1_p95_ms"] >= row["batch1_p50_ms"]

    pipeline = report["pipeline"]
    assert [(r["width"], r["faces"]) for r in pipeline] == [(640, 1), (640, 3), (640, 8),
                                                             (1280, 1), (1280, 3), (1280, 8)]
    for row in pipeline:
        _positive(row, "p50_ms", "p95_ms", "fps", "runs")
        assert 0 <= row["faces_found"] <= row["faces"]
    # the astronaut's face, pasted large into the frame, is found by the default detector
    assert all(r["faces_found"] == 1 for r in pipeline if r["faces"] == 1)

    webcam = report["webcam"]
    assert webcam["frames_sent"] == 90  # 3 s at 30 FPS
    assert 1 <= webcam["frames_analysed"] <= webcam["frames_sent"]
    assert 0 < webcam["share_analysed"] <= 1
    _positive(webcam, "analysed_fps", "added_latency_p50_ms", "analysis_p50_ms")
    # every frame's added latency includes its own analysis time
    assert webcam["added_latency_p50_ms"] >= webcam["analysis_p50_ms"]

    lib = report["library_start"]
    assert lib["status"] == "measured", lib
    assert lib["faces"] == 1
    _positive(lib, "first_result_s", "peak_rss_mib")
    assert lib["first_result_s"] >= lib["import_s"] + lib["load_s"]

    app = report["app_start"]
    if (ROOT / "app.py").is_file():
        assert app["status"] == "measured", app
        _positive(app, "health_s")
        _positive(app["memory_at_health"], "peak_rss_mib")
    else:
        assert app["status"].startswith("not measured")


def test_quick_run_accuracy_and_fer_comparison(quick_report):
    report, _ = quick_report
    acc = report["accuracy"]
    if (FER2013 / "test").is_dir():
        assert acc["status"] == "measured", acc
        assert acc["images"] == 35  # 5 per class in a quick run
        assert 0.0 <= acc["models"]["tiny"] <= 1.0
        if (FER2013.parent / "ferplus" / "votes.csv").is_file():  # agreement with people on the same faces
            assert 0 < acc["ferplus_faces"] <= 35 and 0.0 <= acc["ferplus_models"]["tiny"] <= 1.0
        as_run = acc["default_as_run"]  # the default as the app runs it
        assert as_run["flip_tta"] == report["default_flip_tta"] and 0.0 <= as_run["accuracy"] <= 1.0
        if not as_run["flip_tta"]:  # one pass: the same figure as its row
            assert as_run["accuracy"] == acc["models"]["tiny"]
    else:
        assert acc["status"].startswith("not measured")

    fer = report["fer_package"]
    if not FER_INSTALLED:
        assert "not installed" in fer["status"]
        pytest.skip("the `fer` package is not installed (bench/requirements.txt): comparison not checked")
    assert fer["status"] == "measured", fer
    assert len(fer["frames"]) == 6
    for row in fer["frames"]:
        _positive(row, "ours_p50_ms", "fer_p50_ms", "speedup")
        assert 0 <= row["fer_faces_found"] <= row["faces"]
    _positive(fer, "first_result_s", "peak_rss_mib", "classify_batch1_p50_ms")
    if acc["status"] == "measured":
        assert 0.0 <= acc["fer"] <= 1.0


def test_report_targets_and_markdown(quick_report):
    report, markdown = quick_report
    targets = {t["key"]: t for t in report["targets"]}
    assert list(targets) == [key for key, _, _ in TARGETS]
    for key in ("pipeline_p50", "pipeline_p95", "classify", "webcam"):
        assert isinstance(targets[key]["met"], bool), targets[key]
    frame = next(r for r in report["pipeline"] if r["width"] == 640 and r["faces"] == 1)
    assert targets["pipeline_p50"]["met"] == (frame["p50_ms"] <= 10)
    assert targets["webcam"]["met"] == report["webcam"]["keeps_up"]

    lines = markdown.splitlines()
    assert lines[0].startswith("### ")
    assert not any(line.startswith(("# ", "## ")) for line in lines)  # pasted under a README section
    for heading in ("#### Targets", "#### Classification latency per face", "#### Pipeline per frame",
                    "#### Webcam callback", "#### Cold start and memory", "#### Accuracy",
                    "#### Compared with the `fer` package"):
        assert heading in markdown
    for target in report["targets"]:
        assert target["target"] in markdown
    assert "nan" not in markdown.lower().split()


def _synthetic_report(**changes) -> dict:
    report = {
        "default_detector": "blazeface", "default_model": "m",
        "pipeline": [{"detector": "blazeface", "frame": "640x480, 1 face", "width": 640, "height": 480,
                      "faces": 1, "p50_ms": 9.0, "p95_ms": 25.0}],
        "classification": [{"model": "m", "runtime": "LiteRT float32", "runtime_key": "float", "status": "measured", "batch1_p50_ms": 0.8}],
        "webcam": {"share_analysed": 0.9, "analysed_fps": 27.0, "keeps_up": False},
        "fer_package": {"frames": [{"frame": "640x480, 1 face", "speedup": 6.0, "ours_p50_ms": 9.0,
                                    "fer_p50_ms": 54.0}]},
        "accuracy": {"models": {"m": 0.60}, "fer": 0.65, "ferplus_models": {"m": 0.75}, "fer_ferplus": 0.64},
    }
    report.update(changes)
    return report


def test_targets_are_computed_from_the_numbers():
    met = {t["key"]: t["met"] for t in compute_targets(_synthetic_report())}
    assert met == {"pipeline_p50": True, "pipeline_p95": False, "classify": True, "webcam": False,
                   "fer_speed": True, "fer_accuracy": False, "fer_agreement": True}
    # 4.98x is not 5x, however it rounds
    close = _synthetic_report(fer_package={"frames": [{"frame": "640x480, 1 face", "speedup": 5.0,
                                                        "ours_p50_ms": 10.0, "fer_p50_ms": 49.8}]})
    assert {t["key"]: t["met"] for t in compute_targets(close)}["fer_speed"] is False
    # the default is judged as the app runs it (flip TTA), not by its single pass
    as_run = _synthetic_report(accuracy={"models": {"m": 0.60}, "fer": 0.65, "ferplus_models": {"m": 0.75},
                                         "fer_ferplus": 0.64, "default_as_run": {
                                             "flip_tta": True, "accuracy": 0.66, "ferplus_accuracy": 0.63}})
    judged = {t["key"]: t for t in compute_targets(as_run)}
    assert judged["fer_accuracy"]["met"] is True and judged["fer_agreement"]["met"] is False
    assert judged["fer_accuracy"]["measured"] == "66.0% vs 65.0%"
    missing = {t["key"]: t for t in compute_targets(_synthetic_report(fer_package={"status": "skipped"},
                                                                      accuracy={"status": "not measured"}))}
    assert missing["fer_speed"]["met"] is None and missing["fer_speed"]["measured"] == "not measured"
    assert missing["fer_accuracy"]["met"] is None and missing["fer_agreement"]["met"] is None


def test_markdown_says_what_was_not_measured(quick_report):
    report, _ = quick_report
    report = {**report, "fer_package": {"status": "skipped (--skip-fer)"},
              "accuracy": {"status": "not measured: no FER2013"}}
    report["targets"] = compute_targets(report)
    markdown = render_markdown(report)
    assert "Not measured: skipped (--skip-fer)." in markdown
    assert "| Accuracy vs the `fer` package (FER2013 faces) | higher | not measured | not measured |" in markdown
