"""The Streamlit pages driven by Streamlit's AppTest (uploads through the real file_uploader
and camera_input widgets), against the tiny model zoo; and the pure helpers behind the pages
(results as CSV/JSON, charts, the model comparison table).

Never imports tensorflow or keras: the app runs on LiteRT only (see README)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from fer_core.detection import create_detector
from fer_core.image_io import ImageLoadError, encode_png, load_image
from fer_core.labels import EMOTION_COLORS_RGB, EMOTIONS
from fer_core.model_zoo import list_models
from fer_core.pipeline import FaceResult
from fer_core.video import AnalysedFrame
from tests.helpers.browser import mp4_clip
from ui import charts
from ui.comparison import NOT_EVALUATED, confusion_matrix, load_entries, summary_rows, variant_rows
from ui.results import PHOTO_COLUMNS, VIDEO_COLUMNS, PhotoResult, photo_json, photo_rows, to_csv, video_rows

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PHOTO = str(ROOT / "pages" / "1_Photo.py")
VIDEO = str(ROOT / "pages" / "3_Video_file.py")
COMPARISON = str(ROOT / "pages" / "4_Model_comparison.py")
LIVE = str(ROOT / "pages" / "2_Live_webcam.py")
TIMEOUT = 120  # the first run of a page loads the model and the detector


@pytest.fixture()
def app_models(monkeypatch: pytest.MonkeyPatch, tiny_models_dir: Path) -> Path:
    """Point the app at the tiny zoo, with Streamlit's process-wide caches emptied."""
    monkeypatch.setenv("FER_MODELS_DIR", str(tiny_models_dir))
    st.cache_data.clear()
    st.cache_resource.clear()
    return tiny_models_dir


def run_page(path: str) -> AppTest:
    at = AppTest.from_file(path, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def assert_clean(at: AppTest) -> None:
    """No uncaught exception reached the page (a visitor would see a traceback)."""
    assert not at.exception, [e.value for e in at.exception]


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def face_cards(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**Face #")]


def jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def face_grid(astronaut: np.ndarray, columns: int = 6, rows: int = 5) -> np.ndarray:
    """The astronaut's face, with some margin, tiled columns x rows (30 faces by default)."""
    x, y, w, h = create_detector().detect(astronaut)[0].box
    side = int(w * 2)
    x0, y0 = max(0, x + w // 2 - side // 2), max(0, y + h // 2 - side // 2)
    tile = cv2.resize(astronaut[y0:y0 + side, x0:x0 + side], (220, 220))
    return np.ascontiguousarray(np.vstack([np.hstack([tile] * columns)] * rows))


# --- landing page and navigation -----------------------------------------------------------


def test_landing_page_states_limits_privacy_and_the_eu_ai_act(app_models):
    at = run_page(APP)
    text = " ".join(m.value for m in at.markdown) + " ".join(w.value for w in at.warning)
    assert "not recognise who anyone is" in text
    assert "expressions, not inner feelings" in text
    assert "No image, frame or result is written to disk or to logs" in text
    assert "Article 5(1)(f) of the EU AI Act" in text and "2 February 2025" in text
    assert "workplace" in text and "education" in text
    # the default model's accuracy is read from its metrics.json, not typed in
    accuracy = list_models()[0].metrics()["accuracy"]
    assert f"labels {accuracy:.0%} of the" in text
    # shared settings in the sidebar, listing the installed model
    model_select = at.sidebar.selectbox[0]
    assert model_select.label == "Emotion model" and model_select.options == ["tiny (default)"]


def test_landing_page_gives_the_defaults_figures_as_the_app_runs_it(monkeypatch, tiny_models_dir, tmp_path):
    """With FER+ figures stored, the landing page leads with agreement with people, and both
    figures are the default's as the app runs it (its flip-TTA variant when the index says so)."""
    import shutil

    root = tmp_path / "models"
    shutil.copytree(tiny_models_dir, root)
    index = json.loads((root / "index.json").read_text())
    index["default_flip_tta"] = True
    (root / "index.json").write_text(json.dumps(index))
    metrics_file = root / index["default"] / "metrics.json"
    metrics = json.loads(metrics_file.read_text())
    metrics["ferplus"] = {"accuracy": 0.41}
    metrics.setdefault("variants", {})["flip_tta"] = {"accuracy": 0.57, "ferplus": {"accuracy": 0.83}}
    metrics_file.write_text(json.dumps(metrics))
    monkeypatch.setenv("FER_MODELS_DIR", str(root))
    st.cache_data.clear()
    st.cache_resource.clear()
    text = " ".join(m.value for m in run_page(APP).markdown)
    assert "most of ten people gave on 83% of FER2013's test faces" in text
    assert "matches FER2013's own single label on 57%" in text


def test_navigation_registers_the_pages(app_models):
    at = run_page(APP)
    at.switch_page(str(Path("pages") / "4_Model_comparison.py")).run()
    assert_clean(at)
    assert at.title[0].value == "Model comparison"


# --- Photo ---------------------------------------------------------------------------------


def test_photo_with_a_face_gives_a_card_table_and_downloads(app_models, astronaut):
    at = run_page(PHOTO)
    assert at.info and "Upload" in at.info[0].value
    at.file_uploader[0].set_value(("astronaut.png", encode_png(astronaut), "image/png")).run()
    assert_clean(at)
    assert not at.error

    cards = face_cards(at)
    assert len(cards) == 1 and cards[0].startswith("**Face #1** · ")
    (spec,) = chart_specs(at)
    bars = spec["data"][0]
    assert bars["type"] == "bar" and bars["y"] == list(EMOTIONS)
    assert len(bars["x"]) == 7 and sum(bars["x"]) == pytest.approx(1.0, abs=1e-3)
    assert bars["marker"]["color"] == [f"rgb({r},{g},{b})" for r, g, b in (EMOTION_COLORS_RGB[e] for e in EMOTIONS)]
    top = EMOTIONS[int(np.argmax(bars["x"]))]
    assert top in cards[0]

    table = at.dataframe[0].value
    assert list(table.columns) == list(PHOTO_COLUMNS) and len(table) == 1
    assert table.loc[0, "file"] == "astronaut.png" and table.loc[0, "emotion"] == top
    labels = [b.label for b in at.download_button]
    assert labels == ["Download annotated PNG", "Download results (CSV)", "Download results (JSON)"]


def test_bad_file_gets_its_message_and_the_good_photo_is_still_analysed(app_models, astronaut):
    broken = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40  # a PNG signature and nothing usable
    with pytest.raises(ImageLoadError) as expected:
        load_image(broken, name="broken.png")
    at = run_page(PHOTO)
    at.file_uploader[0].set_value([
        ("broken.png", broken, "image/png"),
        ("astronaut.jpg", jpeg(astronaut), "image/jpeg"),
    ]).run()
    assert_clean(at)
    assert [e.value for e in at.error] == [str(expected.value)]
    assert len(face_cards(at)) == 1
    assert at.dataframe[0].value["file"].tolist() == ["astronaut.jpg"]


def test_photo_without_a_face_says_so(app_models):
    at = run_page(PHOTO)
    at.file_uploader[0].set_value(("wall.png", encode_png(np.full((300, 400, 3), 128, np.uint8)), "image/png"))
    at.run()
    assert_clean(at)
    assert any("No face was found in “wall.png”" in w.value for w in at.warning)
    assert not face_cards(at) and not at.dataframe


def test_thirty_faces_show_the_first_cards_and_all_rows(app_models, astronaut):
    at = run_page(PHOTO)
    at.file_uploader[0].set_value(("crowd.jpg", jpeg(face_grid(astronaut)), "image/jpeg")).run()
    assert_clean(at)
    rows = len(at.dataframe[0].value)
    assert rows > 12  # the grid has 30 faces
    assert len(face_cards(at)) == 12
    assert any(f"first 12 of {rows} faces" in c.value for c in at.caption)
    assert len(at.get("image")) == 1 + 12  # the photo, and a thumbnail in every card
    table = at.dataframe[0].value
    # numbered in reading order: the grid's rows from the top (220 px apart), left to right
    order = list(zip(table["y"] // 220, table["x"]))
    assert order == sorted(order) and table["face"].tolist() == list(range(1, rows + 1))


def test_24_megapixel_photo_is_analysed_and_shown_reduced(app_models, astronaut):
    big = np.full((4000, 6000, 3), 200, np.uint8)  # a 24 MP phone photo
    # large in the frame: the default detector sees the photo at 1280 px, where smaller faces
    # on a plain background fall below its reach (blazeface-tiled is there for those)
    big[500:3300, 1500:4300] = cv2.resize(astronaut, (2800, 2800), interpolation=cv2.INTER_CUBIC)
    at = run_page(PHOTO)
    at.file_uploader[0].set_value(("big.jpg", jpeg(big, 80), "image/jpeg")).run()
    assert_clean(at)
    assert not at.error
    assert len(face_cards(at)) == 1
    assert any("full 6000x4000 pixels" in c.value for c in at.caption)
    assert at.image[0].captions == ["big.jpg: 1 face (6000x4000)"]


def test_camera_snapshot_is_a_second_source(app_models, astronaut):
    at = run_page(PHOTO)
    at.radio[0].set_value("Take a photo").run()
    assert not at.file_uploader and len(at.camera_input) == 1
    at.camera_input[0].set_value(("shot.jpg", jpeg(astronaut), "image/jpeg")).run()
    assert_clean(at)
    assert len(face_cards(at)) == 1
    assert at.dataframe[0].value["file"].tolist() == ["shot.jpg"]


# --- Video file ----------------------------------------------------------------------------


def test_video_page_plays_the_annotated_video_with_timeline_and_csv(app_models, astronaut):
    at = run_page(VIDEO)
    at.file_uploader[0].set_value(("clip.mp4", mp4_clip(astronaut), "video/mp4")).run()
    assert_clean(at)
    assert not at.error
    assert len(at.get("video")) == 1
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Frames with a face"] == "8 of 8" and metrics["Faces tracked"] == "1"
    (timeline,) = chart_specs(at)
    assert [trace["name"] for trace in timeline["data"]] == list(EMOTIONS)
    assert [b.label for b in at.download_button] == ["Download annotated video (MP4)",
                                                     "Download every face per frame (CSV)"]
    assert at.selectbox[0].label == "Face" and at.selectbox[0].value == 1


def test_corrupt_video_gets_a_clear_message(app_models):
    at = run_page(VIDEO)
    at.file_uploader[0].set_value(("broken.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 300, "video/mp4")).run()
    assert_clean(at)
    assert len(at.error) == 1 and "could not be read as a video" in at.error[0].value
    assert not at.get("video")


def count_detections(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per detector call: an analysis runs the detector on every frame or photo."""
    from fer_core.pipeline import FaceAnalyzer

    calls: list[int] = []
    original = FaceAnalyzer.detect
    monkeypatch.setattr(FaceAnalyzer, "detect",
                        lambda self, image, **kwargs: calls.append(1) or original(self, image, **kwargs))
    return calls


def test_video_display_settings_redraw_and_a_detector_change_asks_first(app_models, astronaut, monkeypatch):
    calls = count_detections(monkeypatch)
    at = run_page(VIDEO)
    at.file_uploader[0].set_value(("clip.mp4", mp4_clip(astronaut), "video/mp4")).run()
    analysed = len(calls)
    assert analysed == 8
    plain = at.get("video")[0].proto.url
    at.toggle(key="video_bars").set_value(True).run()
    at.slider(key="_w_fer_smoothing").set_value(0.2).run()
    assert_clean(at)
    assert len(calls) == analysed  # redrawn from the stored analysis
    assert at.get("video")[0].proto.url != plain  # ...into a new video
    at.selectbox(key="_w_fer_detector").set_value("haar").run()
    assert_clean(at)
    assert len(calls) == analysed and any("changed since this video was analysed" in w.value for w in at.warning)
    assert len(at.get("video")) == 1  # the earlier results stay on screen meanwhile
    at.button(key="video_reanalyse").click().run()
    assert_clean(at)
    assert len(calls) == 2 * analysed and not at.warning


def test_video_and_photo_results_survive_another_page_until_cleared(app_models, astronaut, monkeypatch):
    calls = count_detections(monkeypatch)
    at = run_page(APP)
    at.switch_page("pages/3_Video_file.py").run()
    at.file_uploader[0].set_value(("clip.mp4", mp4_clip(astronaut), "video/mp4")).run()
    at.switch_page("pages/1_Photo.py").run()
    at.file_uploader[0].set_value(("astronaut.jpg", jpeg(astronaut), "image/jpeg")).run()
    assert len(face_cards(at)) == 1
    at.switch_page("pages/4_Model_comparison.py").run()
    at.switch_page("pages/3_Video_file.py").run()
    assert_clean(at)
    analysed = len(calls)
    assert len(at.get("video")) == 1 and any("clip.mp4" in c.value for c in at.caption)
    at.switch_page("pages/1_Photo.py").run()
    assert_clean(at)
    assert len(face_cards(at)) == 1 and len(calls) == analysed  # shown again, not analysed again
    at.button(key="photo_clear").click().run()
    assert not face_cards(at) and any("Upload one or more photos" in i.value for i in at.info)
    at.switch_page("pages/3_Video_file.py").run()
    at.button(key="video_clear").click().run()
    assert not at.get("video") and any("Upload a video" in i.value for i in at.info)


# --- Model comparison ----------------------------------------------------------------------


@pytest.fixture()
def zoo(tmp_path: Path, tiny_models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny zoo plus: a second evaluated model, one without metrics, one with broken metrics."""
    root = tmp_path / "models"
    shutil.copytree(tiny_models_dir, root)
    shutil.copytree(root / "tiny", root / "tiny_b")
    metrics = json.loads((root / "tiny_b" / "metrics.json").read_text())
    metrics["accuracy"] = 0.5
    (root / "tiny_b" / "metrics.json").write_text(json.dumps(metrics))
    for name in ("bare", "broken"):
        (root / name).mkdir()
        shutil.copy(root / "tiny" / "model.tflite", root / name / "model.tflite")
    (root / "broken" / "metrics.json").write_text("{ not json")
    index = json.loads((root / "index.json").read_text())
    index["models"].update({"tiny_b": {"title": "second"}, "bare": {"title": "no metrics"},
                            "broken": {"title": "bad metrics"}})
    (root / "index.json").write_text(json.dumps(index))
    monkeypatch.setenv("FER_MODELS_DIR", str(root))
    st.cache_data.clear()
    st.cache_resource.clear()
    return root


def full_table(at: AppTest):
    """The comparison page's table with every metric (the experts' one, in its expander)."""
    return at.dataframe[1].value


def test_comparison_lists_every_model_with_its_numbers(app_models):
    at = run_page(COMPARISON)
    table = full_table(at)
    expected = list_models()[0].metrics()
    assert table["model"].tolist() == ["tiny (default)"]
    assert table.loc[0, "accuracy"] == pytest.approx(expected["accuracy"])
    assert table.loc[0, "parameters"] == expected["parameters"]
    assert any(m.value.startswith("# Model card: tiny") for m in at.markdown)
    assert len(chart_specs(at)) >= 4  # confusion counts and shares, per class, training curves
    assert any("Only one model has metrics" in i.value for i in at.info)


def test_comparison_marks_models_without_metrics_and_compares_two(zoo):
    at = run_page(COMPARISON)
    table = full_table(at)
    assert sorted(table["model"]) == ["bare", "broken", "tiny (default)", "tiny_b"]
    status = dict(zip(table["model"], table["status"]))
    assert status["tiny (default)"] == status["tiny_b"] == "evaluated"
    assert status["bare"].startswith(NOT_EVALUATED) and status["broken"].startswith(NOT_EVALUATED)
    assert table["model"].tolist()[:2] == ["tiny_b", "tiny (default)"]  # best accuracy first
    assert any("Not evaluated: bare" in w.value for w in at.warning)
    # side by side, best first: the accuracy difference comes from the files' numbers
    tiny_accuracy = json.loads((zoo / "tiny" / "metrics.json").read_text())["accuracy"]
    accuracies = [m for m in at.metric if m.label == "accuracy"]
    assert [m.value for m in accuracies] == ["50.0%", f"{tiny_accuracy:.1%}"]
    assert accuracies[1].delta == f"{(tiny_accuracy - 0.5) * 100:+.1f} pp"
    # choosing a model without metrics explains instead of failing
    at.selectbox(key="detail_model").set_value("bare").run()
    assert_clean(at)
    assert any("bare is not evaluated" in i.value for i in at.info)


# --- pure helpers --------------------------------------------------------------------------


def _face(face_id: int, top: int) -> FaceResult:
    probs = np.full(len(EMOTIONS), 0.05)
    probs[top] = 0.7
    return FaceResult(face_id, (10 * face_id, 20, 30, 40), 0.875, probs)


def test_results_csv_and_json_hold_every_face():
    photos = [PhotoResult("=cmd.jpg", 100, 80, (_face(1, 3), _face(2, 0))), PhotoResult("none.png", 5, 5, ())]
    rows = photo_rows(photos)
    assert [(r["file"], r["face"], r["emotion"]) for r in rows] == [("=cmd.jpg", 1, "happy"), ("=cmd.jpg", 2, "angry")]
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows, PHOTO_COLUMNS))))
    assert list(parsed[0]) == list(PHOTO_COLUMNS)
    assert parsed[0]["file"] == "'=cmd.jpg"  # a spreadsheet must not run it as a formula
    assert float(parsed[0]["happy"]) == pytest.approx(0.7) and parsed[1]["x"] == "20"
    document = json.loads(photo_json(photos, {"model": "tiny"}))
    assert document["settings"] == {"model": "tiny"} and document["emotions"] == list(EMOTIONS)
    assert [len(f["faces"]) for f in document["files"]] == [2, 0]
    assert document["files"][0]["faces"][0]["probabilities"]["happy"] == pytest.approx(0.7)


def test_video_rows_keep_frames_without_faces():
    frames = [AnalysedFrame(0, 0.0, (_face(1, 3),)), AnalysedFrame(1, 0.25, ())]
    parsed = list(csv.DictReader(io.StringIO(to_csv(video_rows(frames), VIDEO_COLUMNS))))
    assert [(r["frame"], r["time_s"], r["face"], r["emotion"]) for r in parsed] == [
        ("0", "0.0", "1", "happy"), ("1", "0.25", "", "")]


def test_charts_show_what_they_are_given():
    matrix = np.array([[3, 1], [0, 0]])
    assert charts.row_normalised(matrix).tolist() == [[0.75, 0.25], [0.0, 0.0]]
    heat = charts.confusion_heatmap(matrix, ["a", "b"], normalised=True)
    assert [list(row) for row in heat.data[0].text] == [["75%", "25%"], ["0%", "0%"]]
    counts = charts.confusion_heatmap(matrix, ["a", "b"], normalised=False)
    assert [list(row) for row in counts.data[0].text] == [["3", "1"], ["0", "0"]]
    with pytest.raises(ValueError):
        charts.probability_bars([0.5, 0.5])
    history = [{"epoch": 0, "accuracy": 0.3, "loss": 2.0, "val_accuracy": 0.25, "val_loss": 2.1},
               {"epoch": 1, "accuracy": 0.4, "loss": 1.8, "val_accuracy": 0.3, "val_loss": 2.0}]
    figure = charts.history_figure(history)
    assert len(figure.data) == 4 and list(figure.data[0].x) == [1, 2]


def test_comparison_helpers_survive_bad_files(zoo):
    entries = {e.name: e for e in load_entries(list_models(zoo))}
    assert entries["tiny"].evaluated and not entries["bare"].evaluated
    assert "could not be read" in entries["broken"].problem
    rows = {r["model"]: r for r in summary_rows(list(entries.values()))}
    assert rows["bare"]["accuracy"] is None and rows["tiny_b"]["accuracy"] == 0.5
    matrix, labels = confusion_matrix(entries["tiny"].metrics)
    assert matrix.shape == (7, 7) and labels == list(EMOTIONS)
    assert confusion_matrix({"confusion_matrix": [[1, 2]], "labels": ["a"]}) is None
    assert next(r["variant"] for r in variant_rows(entries["tiny"].metrics)) == "float32"


# --- live webcam page ----------------------------------------------------------------------


class _StubWebrtc:
    """streamlit_webrtc for AppTest, whose mock runtime the real component cannot run on (the
    real one is driven by tests/test_e2e_browser.py): records what the page passed, and reports
    the connection state a test sets in `state` (not playing by default)."""

    class WebRtcMode:
        SENDRECV = "sendrecv"

    calls: ClassVar[list[dict]] = []
    state: ClassVar[dict[str, bool]] = {"playing": False, "signalling": False}

    @classmethod
    def webrtc_streamer(cls, **kwargs):
        from types import SimpleNamespace

        cls.calls.append(kwargs)
        return SimpleNamespace(state=SimpleNamespace(**cls.state))


@pytest.fixture()
def webrtc_stub(monkeypatch: pytest.MonkeyPatch):
    """The stub in place of streamlit_webrtc, with no calls recorded and not playing."""
    import sys

    _StubWebrtc.calls.clear()
    monkeypatch.setitem(sys.modules, "streamlit_webrtc", _StubWebrtc)
    monkeypatch.setattr(_StubWebrtc, "state", {"playing": False, "signalling": False})
    return _StubWebrtc


def test_live_page_hands_changed_settings_to_the_same_processor(app_models, monkeypatch):
    """A settings change reruns the page: the session keeps its one LiveProcessor (and with it
    the running stream's tracks, timeline and summary), hands it the new options, and the
    WebRTC component keeps calling that processor."""
    import sys

    _StubWebrtc.calls.clear()
    monkeypatch.setitem(sys.modules, "streamlit_webrtc", _StubWebrtc)
    at = run_page(str(ROOT / "pages" / "2_Live_webcam.py"))
    assert_clean(at)
    processor = at.session_state["live_processor"]
    assert processor.options.show_probabilities is False and processor.options.show_stats is True
    at.toggle(key="live_show_probabilities").set_value(True).run()
    at.toggle(key="live_show_stats").set_value(False).run()
    assert_clean(at)
    assert at.session_state["live_processor"] is processor
    assert processor.options.show_probabilities is True and processor.options.show_stats is False
    assert len(_StubWebrtc.calls) == 3
    # every rerun hands the component the session's one track of analysed frames, fed by the camera sink
    tracks = {c["source_video_track"] for c in _StubWebrtc.calls}
    assert len(tracks) == 1 and next(iter(tracks))._processor is processor
    assert all(c["sink_video_track"] is c["source_video_track"].sink for c in _StubWebrtc.calls)
    assert all(c["key"] == "fer-live-webcam" and "queued_video_frames_callback" not in c for c in _StubWebrtc.calls)
    assert any("Start camera" in i.value for i in at.info)  # nothing analysed yet: the page says how to start


def test_live_page_can_answer_every_camera_frame_as_before(app_models, webrtc_stub, monkeypatch):
    """FER_LIVE_PACING=camera: streamlit-webrtc's own processing track calls the processor (the old
    path, kept for bench.capacity.live_profile to measure against); a stopped track is replaced."""
    monkeypatch.setenv("FER_LIVE_PACING", "camera")
    at = run_page(str(ROOT / "pages" / "2_Live_webcam.py"))
    assert_clean(at)
    (call,) = webrtc_stub.calls
    assert call["queued_video_frames_callback"].__self__ is at.session_state["live_processor"]
    assert call["async_processing"] and "source_video_track" not in call
    monkeypatch.setenv("FER_LIVE_PACING", "analysed")
    at.run()
    first = webrtc_stub.calls[-1]["source_video_track"]
    first.stop()  # the WebRTC session ended: the next one gets a new track
    at.run()
    assert webrtc_stub.calls[-1]["source_video_track"] is not first


def test_comparison_leads_with_agreement_with_people(zoo):
    """A model with FER+ figures shows them in the first accuracy column and sorts first, even
    when another model scores higher on FER2013's own labels."""
    metrics = json.loads((zoo / "tiny_b" / "metrics.json").read_text())
    metrics["ferplus"] = {"accuracy": 0.8}
    (zoo / "tiny_b" / "metrics.json").write_text(json.dumps(metrics))
    at = run_page(COMPARISON)
    table = at.dataframe[0].value
    assert table["model"].tolist()[0] == "tiny_b"
    assert table.loc[0, "ferplus_accuracy"] == pytest.approx(0.8) and table.loc[0, "accuracy"] == 0.5
    assert "agrees with most people on 80 of 100 test faces" in at.markdown[0].value.lower()


def test_photos_are_not_analysed_again_when_only_the_video_smoothing_changes(app_models, astronaut, monkeypatch):
    from fer_core.pipeline import FaceAnalyzer

    calls = []
    original = FaceAnalyzer.analyze
    monkeypatch.setattr(FaceAnalyzer, "analyze", lambda self, image: calls.append(1) or original(self, image))
    at = run_page(PHOTO)
    at.file_uploader[0].set_value(("astronaut.jpg", jpeg(astronaut), "image/jpeg")).run()
    assert_clean(at)
    assert len(calls) == 1
    at.slider(key="_w_fer_smoothing").set_value(0.2).run()
    assert_clean(at)
    assert len(calls) == 1 and len(face_cards(at)) == 1  # the cached result, shown again
    at.toggle(key="_w_fer_flip_tta").set_value(not at.toggle(key="_w_fer_flip_tta").value).run()
    assert len(calls) == 2  # a setting photos do use: analysed again


def test_the_sidebar_puts_the_default_first_and_shows_the_real_threshold(zoo):
    from fer_core.detection import DEFAULT_DETECTOR, create_detector

    at = run_page(PHOTO)
    model = at.selectbox(key="_w_fer_model")
    assert model.options[0] == "tiny (default)"  # the default first, whatever the index order
    assert all(len(w.help or "") < 200 for w in (model, at.selectbox(key="_w_fer_detector")))
    threshold = at.slider(key="_w_fer_min_score")
    own = round(create_detector(DEFAULT_DETECTOR).min_score, 2)
    assert threshold.value == pytest.approx(own)  # the value shown is the one in use
    threshold.set_value(0.9).run()
    assert_clean(at)
    assert at.session_state["fer_min_score"] == pytest.approx(0.9)
    at.selectbox(key="_w_fer_detector").set_value("haar").run()
    assert at.session_state["fer_min_score"] is None  # another detector starts at its own threshold
    assert at.slider(key="_w_fer_min_score").value == pytest.approx(round(create_detector("haar").min_score, 2))


def test_the_same_photo_twice_is_shown_once_and_a_wrong_file_type_says_why(app_models, astronaut):
    data = jpeg(astronaut)
    at = run_page(PHOTO)
    at.file_uploader[0].set_value([
        ("a.jpg", data, "image/jpeg"),
        ("copy of a.jpg", data, "image/jpeg"),
        ("notes.txt", b"shopping list: eggs, milk", "text/plain"),
    ]).run()
    assert_clean(at)
    assert any("“copy of a.jpg” is the same file as “a.jpg”" in i.value for i in at.info)
    assert at.dataframe[0].value["file"].tolist() == ["a.jpg"]
    (error,) = [e.value for e in at.error]
    assert "notes.txt" in error and "JPEG" in error  # what it is not, and what to upload


def test_comparison_page_leads_with_a_plain_answer_and_keeps_the_jargon_one_click_away(zoo):
    at = run_page(COMPARISON)
    assert_clean(at)
    assert at.subheader[0].value == "Which model should I use?"
    lead = at.markdown[0].value
    # the default, named first, with how often it is right, from its own metrics.json
    tiny = json.loads((zoo / "tiny" / "metrics.json").read_text())
    assert lead.startswith("- **Everyday use, the default") and "`tiny`" in lead.splitlines()[0]
    assert f"{round(100 * tiny['accuracy'])} of 100" in lead.splitlines()[0]
    main = at.dataframe[0].value
    assert len(main.columns) <= 7 and "tiny (default)" in main["model"].tolist()  # fits the screen, default marked
    jargon = ("PrivateTest", "macro-F1", "top-2", "ECE", "TTA", "kd", "LiteRT")
    outside = [e.value for e in _outside_expanders(at.main) if e.type in ("caption", "alert")]
    assert outside and not [t for t in outside if "python -m" in t]  # no shell commands where newcomers read
    glossary = next(e for e in at.expander if e.label == "What the words mean")
    words = " ".join(m.value for m in glossary.markdown)
    assert all(term in words for term in jargon)
    charts = chart_specs(at)
    assert all(c["layout"]["modebar"]["orientation"] == "v" for c in charts)  # no toolbar over titles
    assert not any("textposition" in trace for c in charts for trace in c["data"] if trace["type"] == "scatter")


def _outside_expanders(block):
    """Every element of `block` not inside an expander: what a visitor reads without a click."""
    for child in block.children.values():
        if child.type == "expandable":
            continue
        if getattr(child, "children", None):
            yield from _outside_expanders(child)
        else:
            yield child



# --- start-up work, photo cache, folded cards, video progress, model cards -------------------


def _sidebar_only(models_dir: str) -> None:
    """A script that draws the shared settings and nothing else."""
    import os

    os.environ["FER_MODELS_DIR"] = models_dir
    from ui.settings import sidebar_settings

    sidebar_settings()


def test_the_app_starts_the_session_reaper_on_any_first_page_and_the_sidebar_does_not(app_models, webrtc_stub,
                                                                                       monkeypatch):
    """Issue 26: sidebar_settings() only draws. The reaper starts from ui.startup, which app.py and
    every page call: on a fresh server a deep link (say /Photo) runs the page without app.py
    (a pages/ folder makes Streamlit start in its v1 multipage mode), as AppTest does here."""
    import ui.session_reaper
    import ui.settings

    starts: list[int] = []
    monkeypatch.setattr(ui.session_reaper, "start_session_reaper", lambda: starts.append(1))
    # where ui.settings imported the function by name (it started the reaper itself)
    monkeypatch.setattr(ui.settings, "start_session_reaper", lambda: starts.append(1), raising=False)
    sidebar = AppTest.from_function(_sidebar_only, args=(str(app_models),), default_timeout=TIMEOUT)
    sidebar.run()
    assert_clean(sidebar)
    assert sidebar.sidebar.selectbox(key="_w_fer_model") and starts == []
    landing = run_page(APP)
    assert starts == [1]
    for page in ("pages/1_Photo.py", "pages/2_Live_webcam.py", "pages/3_Video_file.py",
                 "pages/4_Model_comparison.py"):
        starts.clear()
        deep_link = AppTest.from_file(APP, default_timeout=TIMEOUT)
        deep_link.switch_page(page)  # the process's first request opens this page
        deep_link.run()
        assert_clean(deep_link)
        assert deep_link.title[0].value != landing.title[0].value and starts, page


def count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One entry (the file's name) per photo decode by the pages."""
    import fer_core.image_io

    names: list[str] = []
    original = fer_core.image_io.load_image

    def counting(source, **kwargs):
        names.append(kwargs.get("name", "?"))
        return original(source, **kwargs)

    monkeypatch.setattr(fer_core.image_io, "load_image", counting)
    return names


def test_a_cached_photo_result_is_shown_again_without_decoding_the_photo(app_models, astronaut, monkeypatch):
    decodes = count_decodes(monkeypatch)
    at = run_page(PHOTO)
    at.file_uploader[0].set_value(("astronaut.jpg", jpeg(astronaut), "image/jpeg")).run()
    assert_clean(at)
    assert decodes == ["astronaut.jpg"] and len(face_cards(at)) == 1
    bars = next(t for t in at.toggle if t.label == "Probability bars on the image")
    bars.set_value(True).run()  # a display option: drawn again, not decoded
    at.slider(key="_w_fer_smoothing").set_value(0.2).run()  # a setting photos ignore
    assert_clean(at)
    assert decodes == ["astronaut.jpg"] and len(face_cards(at)) == 1 and len(at.get("image")) == 2
    at.toggle(key="_w_fer_flip_tta").set_value(not at.toggle(key="_w_fer_flip_tta").value).run()
    assert_clean(at)
    assert decodes == ["astronaut.jpg"] * 2  # a setting photos use: a cache miss, decoded and analysed again


def test_several_photos_fold_their_face_cards_and_one_photo_shows_them(app_models, astronaut):
    at = run_page(PHOTO)
    first = ("astronaut.jpg", jpeg(astronaut), "image/jpeg")
    at.file_uploader[0].set_value(first).run()
    (expander,) = [e for e in at.expander if e.label.startswith("Face cards")]
    assert expander.proto.expanded  # one photo: its cards open
    mirrored = ("mirrored.jpg", jpeg(np.ascontiguousarray(astronaut[:, ::-1])), "image/jpeg")
    at.file_uploader[0].set_value([first, mirrored]).run()
    assert_clean(at)
    folded = [e for e in at.expander if e.label.startswith("Face cards")]
    assert len(folded) == 2 and not any(e.proto.expanded for e in folded)  # the page stays short
    assert len(face_cards(at)) == 2  # still there, one click away


def test_video_progress_says_which_frame_of_how_many(app_models, astronaut, monkeypatch):
    from streamlit.delta_generator import DeltaGenerator

    texts: list[str] = []
    original = DeltaGenerator.progress

    def recording(self, value, text=None):
        texts.append(str(text))
        return original(self, value, text=text)

    monkeypatch.setattr(DeltaGenerator, "progress", recording)  # the bar's updates (st.progress makes it)
    at = run_page(VIDEO)
    at.file_uploader[0].set_value(("clip.mp4", mp4_clip(astronaut), "video/mp4")).run()
    assert_clean(at)
    updates = [t for t in texts if " frame " in t]
    assert updates, texts
    assert all(" of 8 " in t for t in updates), updates  # the total, every time
    assert updates[-1].startswith("Analysing the video… frame 8 of 8 ")


# a path of the machine that trained the model, as a card must never show it
_LOCAL_PATH = re.compile(r"(\.\./|~/|[A-Za-z]:\\|/(home|work|tmp|Users|root|mnt|srv|data|shared|var)/)")


def test_the_shipped_model_cards_show_no_local_path_and_no_raw_temperature(monkeypatch):
    monkeypatch.setenv("FER_MODELS_DIR", str(ROOT / "models"))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = run_page(COMPARISON)
    names = at.selectbox(key="detail_model").options
    assert len(names) >= 2
    seen = 0
    for name in names:
        at.selectbox(key="detail_model").set_value(name).run()
        assert_clean(at)
        cards = [m.value for m in at.markdown if m.value.startswith("# Model card:")]
        for card in cards:
            seen += 1
            assert not _LOCAL_PATH.search(card), (name, _LOCAL_PATH.search(card))
            assert str(ROOT) not in card and str(ROOT.parent) not in card
            assert not re.search(r"\bT = \d", card), name
    assert seen >= len(names) - 1  # every model ships a card (an ensemble may not)


def test_a_card_written_before_the_fix_is_shown_without_path_or_raw_temperature(app_models, tmp_path, monkeypatch):
    root = tmp_path / "models"
    shutil.copytree(app_models, root)
    (root / "tiny" / "card.md").write_text(
        "# Model card: tiny\n\nOn PrivateTest (3,589 images of /home/someone/data/fer2013), evaluated today.\n\n"
        "Probabilities are temperature-scaled (T = 0.5731, fitted on PublicTest).\n\n"
        "```\npython -m fer_core train --data ../shared/data/fer2013 --out runs/tiny\n```\n", encoding="utf-8")
    monkeypatch.setenv("FER_MODELS_DIR", str(root))
    st.cache_data.clear()
    at = run_page(COMPARISON)
    (card,) = [m.value for m in at.markdown if m.value.startswith("# Model card:")]
    assert not _LOCAL_PATH.search(card) and "T = " not in card
    assert "images of …/fer2013" in card and "a temperature of 0.57" in card
    assert "--data …/fer2013 --out runs/tiny" in card  # the command keeps its shape


# --- live webcam: a full server, a camera gone mid-stream, a TURN relay that never answers ------


def test_a_full_server_turns_the_visitor_away_and_try_again_lets_them_in(app_models, webrtc_stub, monkeypatch):
    import ui.resources
    from fer_core.live.capacity import StreamActivity

    now = [100.0]  # the streams' clock, frozen: no test timing
    activity = StreamActivity(clock=lambda: now[0])
    monkeypatch.setattr(ui.resources, "stream_activity", lambda: activity)
    monkeypatch.setenv("FER_MAX_STREAMS", "2")
    activity.saw(1)
    activity.saw(2)  # two other visitors' cameras are sending frames
    at = run_page(LIVE)
    (warning,) = at.warning
    assert "as many live webcam streams as it can (2)" in warning.value and "Try again in a minute" in warning.value
    assert not webrtc_stub.calls  # no camera is offered while the server is full
    (again,) = [b for b in at.button if b.label == "Try again"]
    again.click().run()
    assert_clean(at)
    assert at.warning and not webrtc_stub.calls  # still full
    activity.forget(2)  # one of them left
    next(b for b in at.button if b.label == "Try again").click().run()
    assert_clean(at)
    assert not at.warning and len(webrtc_stub.calls) == 1
    assert not [b for b in at.button if b.label == "Try again"]


def test_a_camera_gone_mid_stream_is_reported(app_models, webrtc_stub, analyzer, astronaut):
    from fer_core.live import LiveOptions, LiveProcessor
    now = [0.0]  # the processor's clock: no test timing
    processor = LiveProcessor(analyzer, LiveOptions(), clock=lambda: now[0])
    processor.process_rgb(astronaut)  # the camera sent a frame at t = 0
    webrtc_stub.state.update(playing=True, signalling=True)
    at = AppTest.from_file(LIVE, default_timeout=TIMEOUT)
    at.session_state["live_processor"] = processor
    now[0] = 1.0
    at.run()
    assert_clean(at)
    assert at.session_state["live_processor"] is processor

    def gone() -> bool:
        return any("No video is arriving from the camera" in w.value for w in at.warning)

    assert not gone() and [m.label for m in at.metric][:1] == ["Analysed FPS"]  # frames arriving
    now[0] = 60.0  # a minute without a frame (camera unplugged, connection dropped); the page allows 3 s
    at.run()
    assert_clean(at)
    assert gone() and any("Press Stop, then Start camera again" in w.value for w in at.warning)
    processor.process_rgb(astronaut)  # back
    at.run()
    assert not gone()
    processor.on_ended()  # the browser ended the track (access revoked): at once, no waiting
    at.run()
    assert_clean(at)
    assert gone()


def test_a_turn_relay_that_never_answers_is_named_while_connecting(app_models, webrtc_stub, monkeypatch):
    import socket

    import ui.live_ice

    monkeypatch.setattr(ui.live_ice, "TURN_PROBE_TIMEOUT_S", 0.3)  # bounded; no real network
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # a relay that never answers
        silent.bind(("127.0.0.1", 0))
        url = f"turn:127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setenv("FER_TURN_URL", url)
        monkeypatch.setenv("FER_TURN_USERNAME", "visitor")
        monkeypatch.setenv("FER_TURN_CREDENTIAL", "secret")
        monkeypatch.setenv("FER_STUN_URLS", "none")
        webrtc_stub.state.update(signalling=True)  # the browser is connecting
        at = run_page(LIVE)
    assert_clean(at)
    assert webrtc_stub.calls[-1]["rtc_configuration"]["iceServers"][0]["urls"] == [url]
    (warning,) = [w.value for w in at.warning if "did not answer" in w.value]
    assert url in warning and "FER_TURN_URL" in warning and "within 0.3 s" in warning
    assert not [i for i in at.info if "Connecting" in i.value]
