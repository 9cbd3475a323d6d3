"""The webcam callback (fer_core.live) on real av.VideoFrames: overlay, readout, settings swapped
mid-stream, frame dropping (ours and streamlit-webrtc's worker thread), session summary, ICE
configuration. No Streamlit, no browser: tests/test_e2e_browser.py covers those."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
from fractions import Fraction

import av
import numpy as np
import pytest

from fer_core.detection.base import Detection
from fer_core.drawing import draw_text_overlay, emotion_color
from fer_core.labels import EMOTIONS, NO_FACE
from fer_core.live import (
    MAX_FRAME_GAP_S,
    LiveOptions,
    LiveProcessor,
    stats_lines,
)
from fer_core.live.tuning import LiveTuning
from fer_core.pipeline import FaceAnalyzer

VIDEO_TIME_BASE = Fraction(1, 90000)  # what WebRTC video tracks use
BOX = (40, 30, 60, 60)  # where the stub detector "finds" a face in a 160x120 frame
# the processor's own logic, pixel for pixel: the detector on every frame, frames out as RGB (the
# defaults, detection every k-th frame and yuv420p out, have their own tests at the end)
EXACT = LiveTuning(detect_every=1, frame_format="rgb24")


# --- stubs and helpers --------------------------------------------------------------------------


class StubDetector:
    """Finds the boxes it is told to (a list that tests can change between frames)."""

    name, min_score = "stub", 0.0

    def __init__(self, boxes=(BOX,)) -> None:
        self.boxes = list(boxes)

    def detect(self, image):
        return [Detection(tuple(b), 0.9) for b in self.boxes]


class StubClassifier:
    """Always answers `emotion` with certainty; `emotion` can be changed between frames."""

    def __init__(self, emotion: str, name: str = "stub") -> None:
        self.emotion, self.name = emotion, name

    def predict(self, faces):
        probs = np.zeros((len(faces), len(EMOTIONS)), np.float32)
        probs[:, EMOTIONS.index(self.emotion)] = 1.0
        return probs


class GatedClassifier(StubClassifier):
    """Blocks its first call until `gate` is set: a model slower than the camera, on demand."""

    def __init__(self, emotion: str) -> None:
        super().__init__(emotion)
        self.gate, self.entered, self.calls = threading.Event(), threading.Event(), 0

    def predict(self, faces):
        self.calls += 1
        self.entered.set()
        assert self.gate.wait(30), "test never opened the gate"
        return super().predict(faces)


class BrokenClassifier(StubClassifier):
    def predict(self, faces):
        raise RuntimeError("interpreter exploded")


class StepClock:
    """Each call advances `step` seconds: start/finish of a frame are `step` apart."""

    def __init__(self, step: float = 0.05) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def live_processor(*args, **kwargs) -> LiveProcessor:
    return LiveProcessor(*args, **{"tuning": EXACT, **kwargs})


def stub_analyzer(emotion: str = "angry", boxes=(BOX,)) -> FaceAnalyzer:
    return FaceAnalyzer(StubDetector(boxes), StubClassifier(emotion))


def grey_frame(value: int = 128, width: int = 160, height: int = 120, pts: int = 0) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), value, np.uint8), format="rgb24")
    frame.pts, frame.time_base = pts, VIDEO_TIME_BASE
    return frame


def box_edge_pixels(rgb: np.ndarray, box) -> np.ndarray:
    """The pixels on the box's top edge (where the frame is drawn)."""
    x, y, w, _ = box
    return rgb[y, x + 2 : x + w - 2]


def count_close(rgb: np.ndarray, color, tol: int = 12) -> int:
    return int(np.all(np.abs(rgb.astype(int) - np.array(color)) <= tol, axis=-1).sum())


# --- the callback on the real face ----------------------------------------------------------------


def test_overlay_is_drawn_where_the_face_is_and_nowhere_else(analyzer, astronaut):
    processor = live_processor(analyzer, LiveOptions(show_stats=False))
    frame = av.VideoFrame.from_ndarray(astronaut, format="rgb24")
    frame.pts = 1234
    out_frame = processor.process(frame)
    assert isinstance(out_frame, av.VideoFrame)
    assert out_frame.pts == 1234 and (out_frame.width, out_frame.height) == (frame.width, frame.height)
    out = out_frame.to_ndarray(format="rgb24")

    faces = analyzer.analyze(astronaut)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    changed = np.any(out != astronaut, axis=-1)
    assert changed[y : y + h, x : x + w].any(), "nothing drawn on the face"
    # The frame is painted in the emotion's colour on the box edge.
    edge = box_edge_pixels(out, faces[0].box)
    color = emotion_color(processor.snapshot().timeline[-1].emotion)
    assert (np.abs(edge.astype(int) - color).max(axis=-1) == 0).mean() > 0.9
    # Away from the face (and its label above it) the image is untouched.
    far = changed.copy()
    far[max(0, y - h) : y + 2 * h, max(0, x - w) : x + 2 * w] = False
    assert far.mean() < 0.001


def test_webcam_pixel_format_yuv420p_is_accepted(analyzer, astronaut):
    """Browsers send YUV 4:2:0; the callback must convert and still find the face."""
    processor = live_processor(analyzer)
    frame = av.VideoFrame.from_ndarray(astronaut, format="rgb24").reformat(format="yuv420p")
    out = processor.process(frame)
    assert (out.width, out.height) == (astronaut.shape[1], astronaut.shape[0])
    snap = processor.snapshot()
    assert snap.frames_analyzed == 1 and snap.timeline[-1].faces == 1
    assert snap.last_error is None


def test_fps_and_latency_text_is_drawn_on_the_frame(analyzer, astronaut):
    """With the readout on, the output is exactly the readout drawn over the plain output."""
    plain = live_processor(analyzer, LiveOptions(show_stats=False), clock=StepClock())
    stats = live_processor(analyzer, LiveOptions(show_stats=True), clock=StepClock())
    frames = [av.VideoFrame.from_ndarray(astronaut, format="rgb24") for _ in range(3)]
    for frame in frames:
        without = plain.process(frame).to_ndarray(format="rgb24")
        with_text = stats.process(frame).to_ndarray(format="rgb24")
    snap = stats.snapshot()
    # StepClock: 50 ms analysis, one frame every 100 ms.
    assert snap.fps == pytest.approx(10.0)
    assert snap.latency_ms == pytest.approx(50.0)
    lines = stats_lines(snap.fps, snap.latency_ms, snap.drop_share)
    assert lines == ["10.0 FPS | 50 ms"]
    assert not np.array_equal(with_text, without)
    np.testing.assert_array_equal(with_text, draw_text_overlay(without, lines))


# --- settings changed between frames ----------------------------------------------------------------


def test_model_swap_takes_effect_on_the_next_frame():
    processor = live_processor(stub_analyzer("angry"), LiveOptions(smoothing=0.9, show_stats=False))
    first = processor.process(grey_frame()).to_ndarray(format="rgb24")
    assert np.all(box_edge_pixels(first, BOX) == emotion_color("angry"))

    happy = stub_analyzer("happy")
    processor.configure(happy)  # another model: the old smoothed history must not leak in
    second = processor.process(grey_frame(pts=1)).to_ndarray(format="rgb24")
    assert np.all(box_edge_pixels(second, BOX) == emotion_color("happy"))
    timeline = processor.snapshot().timeline
    assert [r.emotion for r in timeline] == ["angry", "happy"]
    assert timeline[-1].probabilities[EMOTIONS.index("happy")] == pytest.approx(1.0)


def test_smoothing_change_takes_effect_and_keeps_the_track():
    classifier = StubClassifier("angry")
    processor = live_processor(FaceAnalyzer(StubDetector(), classifier),
                              LiveOptions(smoothing=0.9, show_stats=False))
    processor.process(grey_frame())
    classifier.emotion = "happy"
    processor.process(grey_frame(pts=1))
    smoothed = processor.snapshot().timeline[-1]
    assert smoothed.emotion == "angry"  # 0.9 of the history kept
    assert smoothed.probabilities[EMOTIONS.index("happy")] == pytest.approx(0.1, abs=1e-6)

    processor.configure(options=LiveOptions(smoothing=0.0, show_stats=False))
    out = processor.process(grey_frame(pts=2)).to_ndarray(format="rgb24")
    latest = processor.snapshot().timeline[-1]
    assert latest.emotion == "happy"
    assert latest.probabilities[EMOTIONS.index("happy")] == pytest.approx(1.0)
    assert latest.face_id == smoothed.face_id == 1  # same models: tracking went on
    assert np.all(box_edge_pixels(out, BOX) == emotion_color("happy"))


def test_probability_bars_toggle_between_frames():
    processor = live_processor(stub_analyzer("sad"), LiveOptions(show_stats=False))
    before = processor.process(grey_frame()).to_ndarray(format="rgb24")
    processor.configure(options=LiveOptions(show_probabilities=True, show_stats=False))
    after = processor.process(grey_frame(pts=1)).to_ndarray(format="rgb24")
    # the bar chart adds the emotion's colour (the full "sad" bar) and the panel background
    assert count_close(after, emotion_color("sad"), 0) > count_close(before, emotion_color("sad"), 0)
    assert np.count_nonzero(np.any(after != 128, axis=-1)) > np.count_nonzero(np.any(before != 128, axis=-1))


def test_configure_from_another_thread_while_frames_are_processed():
    processor = live_processor(stub_analyzer("angry"), LiveOptions(show_stats=False))
    stop = threading.Event()
    errors: list[BaseException] = []

    def swapper() -> None:
        try:
            analyzers = [stub_analyzer("angry"), stub_analyzer("happy")]
            i = 0
            while not stop.is_set():
                processor.configure(analyzers[i % 2], LiveOptions(smoothing=(i % 9) / 10, show_stats=False))
                i += 1
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=swapper)
    thread.start()
    try:
        for i in range(200):
            processor.process(grey_frame(pts=i))
    finally:
        stop.set()
        thread.join()
    assert not errors
    snap = processor.snapshot()
    assert snap.frames_analyzed == 200 and snap.last_error is None
    assert {r.emotion for r in snap.timeline} <= {"angry", "happy"}


# --- frame dropping ---------------------------------------------------------------------------------


def test_process_latest_analyses_only_the_newest_frame():
    processor = live_processor(stub_analyzer("surprise"), clock=StepClock())
    frames = [grey_frame(value=v, pts=i) for i, v in enumerate((10, 20, 30))]
    out = processor.process_latest(frames)
    assert len(out) == 1 and out[0].pts == 2
    assert out[0].to_ndarray(format="rgb24")[-1, -1, 0] == 30  # built from the newest frame
    snap = processor.snapshot()
    assert (snap.frames_received, snap.frames_analyzed, snap.frames_dropped) == (3, 1, 2)
    assert snap.drop_share == pytest.approx(2 / 3)
    assert "skipping 67% of frames" in stats_lines(snap.fps, snap.latency_ms, snap.drop_share)
    assert processor.process_latest([]) == []


def test_the_page_reads_the_numbers_the_video_shows():
    # skips early on, none for the last 3 s: the readout (2 s window) and the panel agree on 0%
    processor = live_processor(stub_analyzer("happy"), LiveOptions(show_stats=True), clock=StepClock())
    processor.process_latest([grey_frame(pts=i) for i in range(3)])
    for pts in range(3, 40):
        processor.process(grey_frame(pts=pts))
    snap = processor.snapshot()
    assert snap.session_drop_share > 0 and snap.drop_share == 0
    shown = stats_lines(snap.fps, snap.latency_ms, snap.drop_share)
    assert shown == ["10.0 FPS | 50 ms"]  # what the last frame carries: no "skipping" line


class ListTrack:
    """Minimal aiortc-style source track handing out prepared frames."""

    kind = "video"

    def __init__(self, frames: list[av.VideoFrame]) -> None:
        self.frames = list(frames)
        self.readyState = "live"

    def on(self, event, handler=None):  # pyee-style registration used by streamlit-webrtc
        return handler

    async def recv(self) -> av.VideoFrame:
        return self.frames.pop(0)

    def stop(self) -> None:
        self.readyState = "ended"


def test_streamlit_webrtc_worker_drops_stale_frames_and_never_blocks_the_video():
    """streamlit-webrtc's real async track + our queued callback, with a model that blocks
    until the test lets it go: the video path keeps returning frames meanwhile, and the next
    analysis runs on the newest frame only."""
    from streamlit_webrtc.models import CallbackAttachableProcessor
    from streamlit_webrtc.process import AsyncVideoProcessTrack

    classifier = GatedClassifier("fear")
    processor = live_processor(FaceAnalyzer(StubDetector(), classifier), LiveOptions(show_stats=False))
    frames = [grey_frame(value=10 * i, pts=i) for i in range(8)]
    source = ListTrack(frames)

    async def scenario() -> None:
        track = AsyncVideoProcessTrack(source, CallbackAttachableProcessor(
            None, processor.recv_queued, processor.on_ended))
        try:
            first = await track.recv()  # frame 0 goes to the worker, which blocks in the model
            assert first.pts == 0
            assert await asyncio.to_thread(classifier.entered.wait, 30)
            passed = [await track.recv() for _ in range(5)]  # frames 1-5 queue up meanwhile
            # nothing analysed yet, so the unprocessed frames themselves go out: no stall
            assert [f.pts for f in passed] == [1, 2, 3, 4, 5]
            classifier.gate.set()
            for _ in range(3000):  # wait (not a timing assertion) for the second analysis
                if processor.snapshot().frames_analyzed == 2:
                    break
                await asyncio.sleep(0.01)
            snap = processor.snapshot()
            assert snap.frames_analyzed == 2 and snap.frames_dropped == 4
            assert classifier.calls == 2
            # Analysed frames go out in order, re-stamped with the current frame's timestamp:
            # frame 0's result with frame 6, then the newest analysis (of frame 5) with frame 7.
            out6, out7 = await track.recv(), await track.recv()
            assert (out6.pts, out7.pts) == (6, 7)
            assert out6.to_ndarray(format="rgb24")[-1, -1, 0] == 0
            assert out7.to_ndarray(format="rgb24")[-1, -1, 0] == 50
        finally:
            classifier.gate.set()
            track.stop()

    asyncio.run(scenario())
    assert processor.snapshot().ended


# --- errors and session lifecycle ------------------------------------------------------------------


def test_a_failing_model_leaves_the_stream_running():
    processor = live_processor(FaceAnalyzer(StubDetector(), BrokenClassifier("angry")))
    frame = grey_frame()
    out = processor.process(frame).to_ndarray(format="rgb24")
    assert out.shape == (120, 160, 3)
    snap = processor.snapshot()
    assert "interpreter exploded" in snap.last_error
    assert snap.frames_analyzed == 1
    assert np.any(out[:20, :] != 128)  # the error note is written on the video


def test_camera_restart_after_end_starts_a_new_session():
    processor = live_processor(stub_analyzer("happy"), clock=StepClock())
    for i in range(3):
        processor.process(grey_frame(pts=i))
    processor.on_ended()
    assert processor.snapshot().ended
    processor.process(grey_frame(pts=0))
    snap = processor.snapshot()
    assert not snap.ended and snap.frames_analyzed == 1 and len(snap.timeline) == 1
    assert snap.timeline[0].t == 0.0


def test_reset_clears_the_session():
    processor = live_processor(stub_analyzer("happy"), clock=StepClock())
    for i in range(3):
        processor.process(grey_frame(pts=i))
    processor.reset()
    snap = processor.snapshot()
    assert snap.frames_analyzed == 0 and snap.timeline == [] and snap.summary.total() == 0


# --- session summary --------------------------------------------------------------------------------


def read_csv(text: str) -> dict[str, dict[str, str]]:
    return {row["emotion"]: row for row in csv.DictReader(io.StringIO(text))}


def test_session_summary_shares_time_per_emotion_and_exports_csv():
    detector, classifier = StubDetector(), StubClassifier("happy")
    clock = StepClock(0.05)  # frames finish every 100 ms
    processor = live_processor(FaceAnalyzer(detector, classifier), LiveOptions(smoothing=0.0), clock=clock)
    plan = ["happy"] * 4 + [None] * 2 + ["sad"] * 3  # None: nobody in view
    for i, emotion in enumerate(plan):
        detector.boxes = [] if emotion is None else [BOX]
        classifier.emotion = emotion or "happy"
        processor.process(grey_frame(pts=i))
    clock.now += 30.0  # the stream stalled: counted as at most MAX_FRAME_GAP_S
    processor.process(grey_frame(pts=99))

    snap = processor.snapshot()
    seconds = snap.summary.seconds()
    # the first frame opens the session; each later frame accounts for the time since the last
    assert seconds["happy"] == pytest.approx(0.3)
    assert seconds[NO_FACE] == pytest.approx(0.2)
    assert seconds["sad"] == pytest.approx(0.3 + MAX_FRAME_GAP_S)
    assert seconds["angry"] == 0.0
    rows = read_csv(snap.summary.to_csv())
    assert list(rows) == [*EMOTIONS, NO_FACE]
    assert float(rows["sad"]["seconds"]) == pytest.approx(1.3)
    assert float(rows["happy"]["share"]) == pytest.approx(0.3 / 1.8, abs=5e-4)
    assert sum(float(r["share"]) for r in rows.values()) == pytest.approx(1, abs=2e-3)

    timeline = list(csv.DictReader(io.StringIO(snap.timeline_csv())))
    assert len(timeline) == len(plan) + 1
    assert timeline[4]["emotion"] == "" and timeline[4]["faces"] == "0" and timeline[4]["happy"] == ""
    assert timeline[0]["emotion"] == "happy" and float(timeline[0]["happy"]) == 1.0
    assert float(timeline[1]["time_s"]) == pytest.approx(0.1)


def test_summary_of_an_empty_session_is_all_zero():
    processor = live_processor(stub_analyzer())
    rows = read_csv(processor.snapshot().summary.to_csv())
    assert all(float(r["seconds"]) == 0 and float(r["share"]) == 0 for r in rows.values())


def test_options_validate_smoothing():
    with pytest.raises(ValueError, match="smoothing"):
        LiveOptions(smoothing=1.0)


def test_snapshot_reports_how_long_no_frame_arrived():
    clock = StepClock(0.05)
    processor = live_processor(stub_analyzer(), clock=clock)
    assert processor.snapshot().idle_s is None
    processor.process(grey_frame())
    clock.now += 10.0  # the camera went away
    assert processor.snapshot().idle_s == pytest.approx(10.05)


def test_bad_frames_are_refused_with_a_clear_error():
    processor = live_processor(stub_analyzer())
    with pytest.raises(ValueError, match="RGB uint8"):
        processor.process_rgb(np.zeros((10, 10), np.float32))


def test_the_browser_tests_overlay_check_fails_when_the_analysis_fails(astronaut):
    """tests.helpers.browser.overlay_drawn is what the browser, relay, HTTPS, privacy and load tests call
    "processed": it must pass on a frame our callback analysed and fail on one whose analysis
    raised (the FPS readout is drawn on both)."""
    from fer_core.detection import create_detector
    from tests.helpers.browser import camera_canvas, overlay_drawn, readout_darkened

    picture = camera_canvas(astronaut)
    frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
    working = live_processor(FaceAnalyzer(create_detector(), StubClassifier("sad")))
    broken = live_processor(FaceAnalyzer(create_detector(), BrokenClassifier("sad")))
    good = working.process(frame).to_ndarray(format="rgb24")
    bad = broken.process(frame).to_ndarray(format="rgb24")
    assert readout_darkened(good, picture) and readout_darkened(bad, picture)
    assert overlay_drawn(good, picture)
    assert not overlay_drawn(bad, picture) and not overlay_drawn(picture, picture)


def test_the_snapshot_gives_the_timeline_as_arrays_with_gaps_for_no_face():
    from ui.charts import time_share_bars, timeline_figure

    now = [0.0]
    detector = StubDetector()
    processor = live_processor(FaceAnalyzer(detector, StubClassifier("happy")), clock=lambda: now[0])
    for t, boxes in ((0.0, [BOX]), (1.0, []), (2.0, [BOX]), (70.0, [BOX])):  # the face leaves at 1 s
        now[0], detector.boxes = t, boxes
        processor.process(grey_frame(pts=int(t * 10)))
    snap = processor.snapshot()
    times, probs = snap.timeline_arrays()
    assert times.tolist() == [0.0, 1.0, 2.0, 70.0]
    assert np.isnan(probs[1]).all() and probs[0, EMOTIONS.index("happy")] == pytest.approx(1.0)
    recent, _ = snap.timeline_arrays(last_seconds=60)
    assert recent.tolist() == [70.0]  # the chart's last minute
    figure = timeline_figure(times, probs, title="Main face, last minute")
    assert [trace.name for trace in figure.data] == list(EMOTIONS)
    bars = time_share_bars(snap.summary.shares())
    assert list(bars.data[0].y) == [*EMOTIONS, NO_FACE] and all(0 <= x <= 1 for x in bars.data[0].x)


def test_an_rgb_frame_handed_in_is_left_alone_and_a_camera_frame_is_drawn_on():
    processor = live_processor(stub_analyzer("happy"), LiveOptions(show_stats=False))
    rgb_frame = grey_frame()
    processor.process(rgb_frame)
    assert np.all(rgb_frame.to_ndarray(format="rgb24") == 128)  # a view of the caller's frame: untouched
    camera = grey_frame(pts=1).reformat(format="yuv420p")  # what aiortc decodes a camera into
    out = processor.process(camera).to_ndarray(format="rgb24")
    assert np.all(box_edge_pixels(out, BOX) == emotion_color("happy"))


# --- the shipped tuning: frames out as yuv420p, the detector on every k-th frame -----------------


class CountingDetector(StubDetector):
    def __init__(self, boxes=(BOX,)) -> None:
        super().__init__(boxes)
        self.calls = 0

    def detect(self, image):
        self.calls += 1
        return super().detect(image)


def test_annotated_frames_go_out_as_yuv420p_in_the_colours_drawn():
    processor = LiveProcessor(stub_analyzer("happy"), LiveOptions(show_stats=False))
    camera = grey_frame(pts=7).reformat(format="yuv420p")
    out = processor.process(camera)
    assert out.format.name == "yuv420p"  # what the encoder takes as it is, for every time it is sent
    assert (out.pts, out.time_base, out.width, out.height) == (7, VIDEO_TIME_BASE, 160, 120)
    rgb = out.to_ndarray(format="rgb24")
    drawn = live_processor(stub_analyzer("happy"), LiveOptions(show_stats=False)).process(camera).to_ndarray(format="rgb24")
    assert np.any(np.abs(drawn.astype(int) - 128) > 20)  # the overlay the exact path drew...
    error = np.abs(rgb.astype(int) - drawn)
    assert error.mean() < 2.0 and np.percentile(error, 90) <= 6  # ...is the one that goes out (4:2:0 blurs colour edges)


def test_odd_sized_frames_go_out_as_rgb24():
    processor = LiveProcessor(stub_analyzer("happy"), LiveOptions(show_stats=False))
    out = processor.process(grey_frame(width=161, height=121))
    assert out.format.name == "rgb24" and (out.width, out.height) == (161, 121)


def test_the_detector_runs_on_every_kth_frame_and_the_labels_on_every_frame():
    detector, classifier = CountingDetector(), StubClassifier("angry")
    processor = LiveProcessor(FaceAnalyzer(detector, classifier), LiveOptions(smoothing=0.0, show_stats=False),
                              tuning=LiveTuning(detect_every=3))
    emotions = []
    for i in range(7):
        classifier.emotion = EMOTIONS[i % 2]  # a new label every frame: each frame is classified
        out = processor.process(grey_frame(pts=i).reformat(format="yuv420p"))
        emotions.append(processor.snapshot().timeline[-1].emotion)
        assert np.any(np.abs(out.to_ndarray(format="rgb24").astype(int) - 128) > 20), f"no overlay on frame {i}"
    assert detector.calls == 3  # frames 0, 3 and 6
    assert emotions == [EMOTIONS[i % 2] for i in range(7)]
    assert {r.face_id for r in processor.snapshot().timeline} == {1}


def test_with_nothing_tracked_the_detector_runs_on_every_frame():
    detector = CountingDetector(boxes=())
    processor = LiveProcessor(FaceAnalyzer(detector, StubClassifier("sad")), tuning=LiveTuning(detect_every=3))
    for i in range(4):
        processor.process(grey_frame(pts=i))
    assert detector.calls == 4
    detector.boxes = [BOX]  # a face comes into view: found on the next frame
    processor.process(grey_frame(pts=4))
    assert processor.snapshot().timeline[-1].faces == 1
