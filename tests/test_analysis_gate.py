"""The process-wide analysis gate (fer_core.live.gate) and live streams taking turns at it:
never more analyses at once than slots, every stream served, frames skipped (not queued) while a
stream waits longer than its limit. No Streamlit, no browser: bench.capacity.load measures the effect."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import fer_core.live.processor as live
from fer_core.live import LiveOptions, LiveProcessor
from fer_core.live.gate import AnalysisGate, slots_from_env
from fer_core.pipeline import FaceAnalyzer
from tests.test_live import StubClassifier, StubDetector, grey_frame


class CountingClassifier(StubClassifier):
    """Records how many predictions run at the same moment. With `meet` > 1, the first `meet`
    calls wait for each other (a barrier, not a clock): they can only all get through if that
    many analyses may run at once, which proves the overlap instead of hoping a sleep shows it."""

    def __init__(self, meet: int = 0) -> None:
        super().__init__("happy")
        self.lock = threading.Lock()
        self.running = self.most_at_once = self.calls = 0
        self.barrier = threading.Barrier(meet, timeout=30) if meet > 1 else None
        self.met = False

    def predict(self, faces):
        with self.lock:
            self.running += 1
            self.calls += 1
            self.most_at_once = max(self.most_at_once, self.running)
            first = self.calls <= (self.barrier.parties if self.barrier else 0)
        if first:
            try:
                self.barrier.wait()  # its own timeout: generous, so only a gate that never lets them meet fails
                self.met = True
            except threading.BrokenBarrierError:
                pass
        time.sleep(0.002)  # releases the interpreter lock, as LiteRT's invoke does
        with self.lock:
            self.running -= 1
        return super().predict(faces)


def run_streams(gate: AnalysisGate | None, streams: int = 3, frames: int = 8, meet: int = 0,
                ) -> tuple[CountingClassifier, list]:
    classifier = CountingClassifier(meet)
    processors = [LiveProcessor(FaceAnalyzer(StubDetector(), classifier), LiveOptions(show_stats=False), gate=gate)
                  for _ in range(streams)]
    start = threading.Barrier(streams)

    def stream(p: LiveProcessor) -> None:
        start.wait()
        for i in range(frames):
            p.process_latest([grey_frame(pts=i)])

    threads = [threading.Thread(target=stream, args=(p,)) for p in processors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return classifier, [p.snapshot() for p in processors]


def test_without_a_gate_streams_analyse_at_the_same_time():
    # the control: this is what the gate is for (and shows the counter can see overlap)
    classifier, _ = run_streams(None, meet=3)
    assert classifier.met and classifier.most_at_once == 3


@pytest.mark.parametrize("slots", [1, 2])
def test_a_shared_gate_caps_analyses_at_once_and_serves_every_stream(slots, monkeypatch):
    # no stream gives up its frames here, however busy the machine: waiting is tested below
    monkeypatch.setattr(live, "GATE_WAIT_S", 120.0)
    classifier, snaps = run_streams(AnalysisGate(slots), meet=slots)
    assert classifier.most_at_once == slots
    assert classifier.met == (slots > 1)  # two slots: two analyses did meet inside the gate
    assert [s.frames_analyzed for s in snaps] == [8, 8, 8]
    assert classifier.calls == 24


def test_a_gate_of_one_never_lets_two_analyses_meet(monkeypatch):
    monkeypatch.setattr(live, "GATE_WAIT_S", 120.0)
    # the first two calls try to meet; with one slot the second waits outside, so the first gives up
    classifier = CountingClassifier(meet=2)
    classifier.barrier = threading.Barrier(2, timeout=0.5)
    gate = AnalysisGate(1)
    processors = [LiveProcessor(FaceAnalyzer(StubDetector(), classifier), LiveOptions(show_stats=False), gate=gate)
                  for _ in range(2)]
    threads = [threading.Thread(target=p.process_latest, args=([grey_frame(pts=1)],)) for p in processors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert (classifier.met, classifier.most_at_once, classifier.calls) == (False, 1, 2)


def test_a_stream_that_waits_too_long_skips_its_frames(monkeypatch):
    monkeypatch.setattr(live, "GATE_WAIT_S", 0.05)
    gate = AnalysisGate(1)
    processor = LiveProcessor(FaceAnalyzer(StubDetector(), StubClassifier("sad")), gate=gate)
    with gate.turn(0) as granted:  # another stream holds the only slot
        assert granted
        assert processor.process_latest([grey_frame(pts=1), grey_frame(pts=2)]) == []
    snap = processor.snapshot()
    assert snap.frames_analyzed == 0
    # skipped frames are counted once the stream is analysed again
    out = processor.process_latest([grey_frame(pts=3)])
    assert len(out) == 1 and out[0].pts == 3
    snap = processor.snapshot()
    assert (snap.frames_analyzed, snap.frames_dropped, snap.frames_received) == (1, 2, 3)
    assert snap.timeline[-1].emotion == "sad"


def test_a_turn_is_given_back_when_the_analysis_fails():
    gate = AnalysisGate(1)
    with pytest.raises(RuntimeError), gate.turn(0) as granted:
        assert granted
        raise RuntimeError("boom")
    with gate.turn(0) as granted:
        assert granted


def test_slots_come_from_the_environment_with_clear_errors():
    assert slots_from_env({}) == 1
    assert slots_from_env({"FER_ANALYSIS_SLOTS": " 3 "}) == 3
    for bad in ("0", "-1", "two", "1.5"):
        with pytest.raises(ValueError, match="FER_ANALYSIS_SLOTS must be a whole number"):
            slots_from_env({"FER_ANALYSIS_SLOTS": bad})
    with pytest.raises(ValueError, match="at least 1 slot"):
        AnalysisGate(0)


def test_frames_come_back_annotated_through_the_gate():
    processor = LiveProcessor(FaceAnalyzer(StubDetector(), StubClassifier("happy")),
                              LiveOptions(show_stats=False), gate=AnalysisGate(1))
    frame = grey_frame()
    out = processor.process_latest([frame])
    assert len(out) == 1
    assert not np.array_equal(out[0].to_ndarray(format="rgb24"), frame.to_ndarray(format="rgb24"))
