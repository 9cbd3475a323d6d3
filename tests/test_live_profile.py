"""bench.capacity.live_profile's bookkeeping: which part a sampled stack is charged to, and the per-frame
table. (The profiler run itself is a benchmark: `python -m bench.capacity.live_profile`.)"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from bench.capacity.live_profile import BUCKETS, FLOOR, breakdown, classify_stack, conversion_lines, read_raw

PROC = "fer_core/live/processor.py"


@pytest.fixture(scope="module")
def conversions() -> dict[int, str]:
    return conversion_lines()


def _line(conversions: dict[int, str], name: str) -> int:
    return next(n for n, what in conversions.items() if what == name)


def test_the_conversion_lines_are_read_from_the_processor_source(conversions):
    assert sorted(conversions.values()) == ["from_ndarray", "to_ndarray"]
    source = (Path(__file__).resolve().parents[1] / PROC).read_text().splitlines()
    assert ".to_ndarray(" in source[_line(conversions, "to_ndarray") - 1]


def test_each_stack_goes_to_its_innermost_part(conversions):
    loop = "run (threading.py:1);_run_once (asyncio/base_events.py:1900);_run (asyncio/events.py:80)"
    process = f"{loop};LiveProcessor.process_latest ({PROC}:140);LiveProcessor.process ({PROC}:%d)"
    to_nd = process % _line(conversions, "to_ndarray")
    from_nd = process % _line(conversions, "from_ndarray")
    rgb = f"{process % 999};LiveProcessor.process_rgb ({PROC}:190)"
    cases = {
        to_nd: "to_ndarray",
        from_nd: "from_ndarray",
        f"{rgb};StreamAnalyzer.update (fer_core/tracking.py:50);FaceAnalyzer.detect (fer_core/pipeline.py:140);"
        "YuNetDetector.detect (fer_core/detection/yunet.py:70)": "detection",
        f"{rgb};StreamAnalyzer.update (fer_core/tracking.py:50);LiteRTClassifier.predict (fer_core/classifier.py:105)":
            "classification",
        f"{rgb};StreamAnalyzer.update (fer_core/tracking.py:50)": "tracking",
        # code of ours under a conversion line (process_rgb is called on from_ndarray's line) is not it
        f"{from_nd};LiveProcessor.process_rgb ({PROC}:190);FaceAnalyzer.classify (fer_core/pipeline.py:150)":
            "rest of fer_core",
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
        assert classify_stack(stack, conversions) == part, stack


def test_the_table_divides_cpu_by_analysed_frames(tmp_path: Path, conversions):
    raw = tmp_path / "raw.txt"
    to_nd = f"LiveProcessor.process ({PROC}:{_line(conversions, 'to_ndarray')})"
    raw.write_text(f"a (x.py:1);Vp8Decoder.decode (aiortc/codecs/vpx.py:1) 300\n{to_nd} 100\n"
                   "b (streamlit/server.py:3) 100\nnot a sample line\n")
    counts = read_raw(raw, conversions)
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
