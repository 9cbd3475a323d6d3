"""fer_core.live.track.AnalysedTrack: the camera frames go to a worker, the viewer gets each
analysed frame once (the newest of those that waited), and a stopped track ends cleanly. Real
av frames on a real event loop; the model is a stub that analyses only when the test lets it."""

from __future__ import annotations

import asyncio
import threading
from fractions import Fraction

import av
import numpy as np
import pytest

pytest.importorskip("aiortc", reason="the app extra (streamlit-webrtc brings aiortc)")
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from fer_core.detection.base import Detection
from fer_core.labels import EMOTIONS
from fer_core.live import LiveOptions, LiveProcessor
from fer_core.live.track import AnalysedTrack
from fer_core.pipeline import FaceAnalyzer

HANG_S = 60  # only a broken build waits this long


class Detector:
    name, min_score = "stub", 0.0

    def detect(self, image):
        return [Detection((40, 30, 60, 60), 0.9)]


class SteppedClassifier:
    """Each call waits for the test to allow one more analysis."""

    def __init__(self) -> None:
        self.allowed, self.entered = threading.Semaphore(0), threading.Semaphore(0)

    def predict(self, faces):
        self.entered.release()
        assert self.allowed.acquire(timeout=HANG_S), "the test never let the analysis go on"
        probs = np.zeros((len(faces), len(EMOTIONS)), np.float32)
        probs[:, 0] = 1.0
        return probs


def camera_frame(pts: int) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), 128, np.uint8), format="rgb24").reformat(format="yuv420p")
    frame.pts, frame.time_base = pts, Fraction(1, 90000)
    return frame


def test_each_analysed_frame_goes_out_once_and_the_newest_waiting_frame_is_analysed_next():
    classifier = SteppedClassifier()
    processor = LiveProcessor(FaceAnalyzer(Detector(), classifier), LiveOptions(show_stats=False))

    async def run() -> tuple[list[int], AnalysedTrack]:
        loop = asyncio.get_running_loop()
        track = AnalysedTrack(processor)
        track.take(camera_frame(0))
        assert await loop.run_in_executor(None, classifier.entered.acquire, True, HANG_S)  # frame 0 is being analysed
        for pts in (1, 2, 3):  # camera frames that arrive meanwhile
            track.take(camera_frame(pts))
        classifier.allowed.release()
        sent = [(await asyncio.wait_for(track.recv(), HANG_S)).pts]
        assert await loop.run_in_executor(None, classifier.entered.acquire, True, HANG_S)  # the next analysis
        classifier.allowed.release()
        sent.append((await asyncio.wait_for(track.recv(), HANG_S)).pts)
        track.stop()
        with pytest.raises(MediaStreamError):  # what releases the track from aiortc's relay
            await asyncio.wait_for(track.recv(), HANG_S)
        return sent, track

    sent, track = asyncio.run(run())
    assert sent == [0, 3]  # frames 1 and 2 were skipped, nothing was sent twice
    snap = processor.snapshot()
    assert (snap.frames_analyzed, snap.frames_dropped, snap.frames_received) == (2, 2, 4)
    assert snap.ended  # the processor knows the stream ended (a restart opens a new session)
    assert track._worker is not None
    track._worker.join(HANG_S)
    assert not track._worker.is_alive()  # no thread outlives its stream


def test_a_stopped_track_ignores_frames_and_a_waiting_viewer_is_released():
    classifier = SteppedClassifier()
    processor = LiveProcessor(FaceAnalyzer(Detector(), classifier))

    async def run() -> AnalysedTrack:
        track = AnalysedTrack(processor)
        track.take(camera_frame(0))  # the analysis waits for a permit that never comes...
        waiting = asyncio.ensure_future(track.recv())
        await asyncio.sleep(0)
        track.stop()  # ...and the stream ends: the viewer's recv is released
        with pytest.raises(MediaStreamError):
            await asyncio.wait_for(waiting, HANG_S)
        track.take(camera_frame(1))  # late frames are dropped, not queued
        assert track._camera_frames == []
        return track

    track = asyncio.run(run())
    classifier.allowed.release()  # the analysis under way finishes; the worker then exits
    assert track._worker is not None
    track._worker.join(HANG_S)
    assert not track._worker.is_alive()


class Camera(MediaStreamTrack):
    """A camera track that delivers the frames it is given, then ends."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.frames: asyncio.Queue[av.VideoFrame | None] = asyncio.Queue()

    async def recv(self) -> av.VideoFrame:
        frame = await self.frames.get()
        if frame is None:
            raise MediaStreamError
        return frame


def test_the_sink_hands_the_camera_frames_over_and_stops_the_track_when_the_camera_ends():
    classifier = SteppedClassifier()
    processor = LiveProcessor(FaceAnalyzer(Detector(), classifier), LiveOptions(show_stats=False))

    async def run() -> AnalysedTrack:
        track, camera = AnalysedTrack(processor), Camera()
        assert not track.sink.hasTrack()
        track.sink.addTrack(camera)
        track.sink.start()
        classifier.allowed.release()
        await camera.frames.put(camera_frame(5))
        assert (await asyncio.wait_for(track.recv(), HANG_S)).pts == 5
        await camera.frames.put(None)  # the camera track ends
        with pytest.raises(MediaStreamError):
            await asyncio.wait_for(track.recv(), HANG_S)
        return track

    track = asyncio.run(run())
    assert track.readyState == "ended" and processor.snapshot().ended


def test_stopping_the_sink_from_another_thread_ends_the_stream():
    processor = LiveProcessor(FaceAnalyzer(Detector(), SteppedClassifier()))

    async def run() -> None:
        loop = asyncio.get_running_loop()
        track, camera = AnalysedTrack(processor), Camera()
        track.sink.addTrack(camera)
        track.sink.start()
        waiting = asyncio.ensure_future(track.recv())
        await asyncio.sleep(0)  # the viewer waits for a first frame that never comes...
        await loop.run_in_executor(None, track.sink.stop)  # ...when the stream ends  # streamlit-webrtc stops its worker off the loop
        with pytest.raises(MediaStreamError):
            await asyncio.wait_for(waiting, HANG_S)
        assert not track.sink.hasTrack()

    asyncio.run(run())
