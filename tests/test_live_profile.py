"""bench.capacity.live_profile's bookkeeping: which part a sampled stack is charged to, and the per-frame
table. (The profiler run itself is a benchmark: `python -m bench.capacity.live_profile`.)"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from bench.capacity.live_profile import (
    BUCKETS,
    FLOOR,
    breakdown,
    classify_stack,
    read_raw,
    read_threads,
    split_thread,
)

PROC = "fer_core/live/processor.py"
FRAMES = "fer_core/live/frames.py"


def test_the_conversion_functions_exist_where_the_profile_looks_for_them():
    from fer_core.live import frames

    source = (Path(__file__).resolve().parents[1] / FRAMES).read_text()
    assert "def to_rgb(" in source and "def to_video_frame(" in source
    assert callable(frames.to_rgb) and callable(frames.to_video_frame)


def test_each_stack_goes_to_its_innermost_part():
    loop = "run (threading.py:1);_run_once (asyncio/base_events.py:1900);_run (asyncio/events.py:80)"
    process = f"{loop};LiveProcessor.process_latest ({PROC}:140);LiveProcessor.process ({PROC}:170)"
    to_nd = f"{process};to_rgb ({FRAMES}:30)"
    from_nd = f"{process};to_video_frame ({FRAMES}:40)"
    rgb = f"{process};LiveProcessor.process_rgb ({PROC}:190)"
    cases = {
        to_nd: "to_ndarray",
        from_nd: "from_ndarray",
        f"{rgb};StreamAnalyzer.update (fer_core/tracking.py:50);FaceAnalyzer.detect (fer_core/pipeline.py:140);"
        "YuNetDetector.detect (fer_core/detection/yunet.py:70)": "detection",
        f"{rgb};StreamAnalyzer.update (fer_core/tracking.py:50);LiteRTClassifier.predict (fer_core/classifier.py:105)":
            "classification",
        f"{rgb};StreamAnalyzer.update (fer_core/tracking.py:50)": "tracking",
        f"{rgb};FaceAnalyzer.classify (fer_core/pipeline.py:150)": "rest of fer_core",
        # with --threads py-spy names the thread first: the parts are the same
        f"thread (0x1): async_media_processor_3;{to_nd}": "to_ndarray",
        f"{rgb};draw_faces (fer_core/drawing.py:300);_tag (fer_core/drawing.py:200)": "drawing",
        f"{loop};RTCRtpReceiver._run_rtp (aiortc/rtcrtpreceiver.py:500);Vp8Decoder.decode (aiortc/codecs/vpx.py:120)":
            "decode",
        f"{loop};RTCRtpSender._next_encoded_frame (aiortc/rtcrtpsender.py:300);Vp8Encoder.encode (aiortc/codecs/vpx.py:250)":
            "encode",
        f"{loop};DatagramTransport._read (aioice/ice.py:10)": "event loop and WebRTC transport",
        "run (threading.py:1);Server._loop (streamlit/runtime/runtime.py:600)": "Streamlit server",
        "run (threading.py:1);worker (concurrent/futures/thread.py:80)": "other",
    }
    for stack, part in cases.items():
        assert classify_stack(stack) == part, stack


def test_the_table_divides_cpu_by_analysed_frames(tmp_path: Path):
    raw = tmp_path / "raw.txt"
    to_nd = f"LiveProcessor.process ({PROC}:170);to_rgb ({FRAMES}:30)"
    raw.write_text(f"a (x.py:1);Vp8Decoder.decode (aiortc/codecs/vpx.py:1) 300\n{to_nd} 100\n"
                   "b (streamlit/server.py:3) 100\nnot a sample line\n")
    counts = read_raw(raw)
    assert counts == Counter({"decode": 300, "to_ndarray": 100, "Streamlit server": 100})
    # 200 Hz for 10 s: 500 samples are 2.5 s of CPU; 250 frames analysed -> 10 ms per frame
    table = breakdown(counts, rate=200, frames_analysed=250, window_s=10)
    by_part = {r["part"]: r for r in table["rows"]}
    assert [r["part"] for r in table["rows"]] == list(BUCKETS)
    assert by_part["decode"]["ms_per_frame"] == pytest.approx(6.0) and by_part["decode"]["share"] == pytest.approx(0.6)
    assert table["ms_per_frame_total"] == pytest.approx(10.0)
    assert table["floor_ms_per_frame"] == pytest.approx(8.0)  # the Streamlit server is not a floor part
    assert "Streamlit server" not in FLOOR
    assert table["cpu_cores_sampled"] == pytest.approx(0.25)
    # the cores divided by 8 ms x 10 frames per second
    assert table["streams_at_10fps_by_floor"] == pytest.approx((os.cpu_count() or 1) * 1000 / 80)


def test_samples_are_counted_by_thread(tmp_path: Path):
    raw = tmp_path / "raw.txt"
    raw.write_text("thread (0x10): MainThread;a (asyncio/base_events.py:1) 50\n"
                   "thread (0x11): async_media_processor_0;b (fer_core/pipeline.py:1) 30\n"
                   "thread (0x12): video-decoder;Vp8Decoder.decode (aiortc/codecs/vpx.py:1) 15\n"
                   "thread (0x13): asyncio_1;Vp8Encoder.encode (aiortc/codecs/vpx.py:2) 5\n"
                   "thread (0x15): fer-live-analysis;d (fer_core/drawing.py:1) 2\n"
                   "thread (0x14);c (x.py:1) 1\n")
    assert read_threads(raw) == Counter({"event loop (Streamlit and WebRTC)": 50, "analysis": 32, "decoders": 15,
                                         "encoders": 5, "other threads": 1})
    assert split_thread("thread (0x10): MainThread;a (b.py:1)") == ("MainThread", ["a (b.py:1)"])
    assert split_thread("a (b.py:1);c (d.py:2)") == (None, ["a (b.py:1)", "c (d.py:2)"])


def test_the_report_renders_levels_and_each_cut_against_the_old_path(tmp_path: Path):
    from bench.capacity.live_profile import CUTS, main, write_outputs

    def level(n: int, ms: float) -> dict:
        table = breakdown(Counter({"decode": 100, "detection": int(ms * 10), "event loop and WebRTC transport": 50}),
                          rate=200, frames_analysed=10 * n * 10, window_s=10)
        return {**table, "streams": n, "connected": n, "analysed_fps": [10.0] * n, "received_fps": [15.0] * n,
                "window_s": 10.0, "server_cpu_cores": 0.3 * n, "top_functions": {},
                "threads_cores": {"analysis": 0.1}, "gil_held_share": 0.5, "gil_threads_share": {"analysis": 0.05}}

    report = {"model": "m", "flip_tta": True, "date": "d", "rate": 200, "window_s": 10, "camera_fps": 30,
              "machine": {"processor": "x86_64", "cpus": 2}, "levels": [level(1, 30), level(3, 30)], "compare_levels": [3],
              "compared": [{"label": "shipped (every cut)", "env": {}, "level": level(3, 30)},
                           {"label": "without `detect_every`", "env": CUTS["detect_every"][1], "level": level(3, 90)}]}
    write_outputs(tmp_path, report)
    text = (tmp_path / "live_profile.md").read_text()
    assert "| without `detect_every` | 3 |" in text and "interpreter lock held | 50% of the time" in text
    assert "thread: analysis, cores (holding the lock) | 0.10 (0.05)" in text
    assert "**Floor:" in text and "streams at 10 analysed FPS" in (tmp_path / "live_floor.md").read_text()
    (tmp_path / "live_profile.md").unlink()
    assert main(["--render", "--out", str(tmp_path)]) == 0 and (tmp_path / "live_profile.md").read_text() == text
