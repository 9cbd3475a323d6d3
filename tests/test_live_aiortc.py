"""The third layer of streamlit-webrtc's test plan: a real WebRTC session in one process, no
server and no browser. Two aiortc peer connections on loopback: the "browser" sends the
astronaut as its camera; the "server" runs every received frame through `LiveProcessor` (the
page's own callback, `recv_queued`) and sends the result back, as streamlit-webrtc does. The
check is what a viewer sees: frames come back VP8-encoded with the emotion box at the face and
the readout (tests.helpers.browser.overlay_drawn), and the processor counted them. Nothing is timed:
the waits only bound how long a broken build may hang."""

from __future__ import annotations

import asyncio
import fractions

import av
import numpy as np
import pytest

aiortc = pytest.importorskip("aiortc", reason="the app extra (streamlit-webrtc brings aiortc)")
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection  # noqa: E402

from fer_core.live import LiveOptions, LiveProcessor  # noqa: E402
from fer_core.live.track import AnalysedTrack  # noqa: E402
from tests.helpers.browser import camera_canvas, overlay_drawn  # noqa: E402

FRAMES_BACK = 5  # analysed frames the viewer must get
HANG_S = 120  # only a broken build waits this long


class Camera(MediaStreamTrack):
    """The visitor's camera: one picture, 30 frames a second of media time (paced by aiortc's
    encoder, not by us)."""

    kind = "video"

    def __init__(self, picture: np.ndarray) -> None:
        super().__init__()
        self.picture, self.pts = picture, 0

    async def recv(self) -> av.VideoFrame:
        await asyncio.sleep(1 / 30)  # a camera does not deliver faster than its frame rate
        frame = av.VideoFrame.from_ndarray(self.picture, format="rgb24")
        frame.pts, frame.time_base = self.pts, fractions.Fraction(1, 90000)
        self.pts += 3000
        return frame


class Processed(MediaStreamTrack):
    """The server's track back to the visitor: each received frame through the page's callback."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack, processor: LiveProcessor) -> None:
        super().__init__()
        self.source, self.processor = source, processor

    async def recv(self) -> av.VideoFrame:
        frame = await self.source.recv()
        (out,) = await self.processor.recv_queued([frame])
        return out


async def session(processor: LiveProcessor, picture: np.ndarray, *, analysed_only: bool = False) -> list[np.ndarray]:
    """`analysed_only`: the app's path (fer_core.live.track): the camera frames handed to an
    AnalysedTrack as streamlit-webrtc's sink does, and only analysed frames sent back."""
    config = RTCConfiguration(iceServers=[])  # loopback host candidates only: nothing leaves the machine
    browser, server = RTCPeerConnection(config), RTCPeerConnection(config)
    browser.addTransceiver(Camera(picture), direction="sendrecv")
    came_back: asyncio.Queue[av.VideoFrame] = asyncio.Queue()
    pumps: list[asyncio.Task] = []  # held, so the task is not garbage-collected mid-stream
    analysed = AnalysedTrack(processor)

    @server.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if not analysed_only:
            server.addTrack(Processed(track, processor))
            return

        analysed.sink.addTrack(track)  # as streamlit-webrtc hands the page's sink the camera track
        analysed.sink.start()
        server.addTrack(analysed)

    @browser.on("track")
    def on_returned(track: MediaStreamTrack) -> None:
        async def pump() -> None:
            while True:
                await came_back.put(await track.recv())
        pumps.append(asyncio.ensure_future(pump()))

    try:
        await browser.setLocalDescription(await browser.createOffer())
        await server.setRemoteDescription(browser.localDescription)
        await server.setLocalDescription(await server.createAnswer())
        await browser.setRemoteDescription(server.localDescription)
        frames: list[np.ndarray] = []  # every frame that came back, until FRAMES_BACK carried the overlay
        while sum(overlay_drawn(f, picture) for f in frames) < FRAMES_BACK:
            frames.append((await asyncio.wait_for(came_back.get(), HANG_S)).to_ndarray(format="rgb24"))
        return frames
    finally:
        for task in pumps:
            task.cancel()
        await browser.close()
        await server.close()
        analysed.sink.stop()  # what streamlit-webrtc does when its worker stops


def test_frames_round_trip_through_webrtc_and_come_back_analysed(analyzer, astronaut):
    picture = camera_canvas(astronaut)
    processor = LiveProcessor(analyzer, LiveOptions(show_stats=True))
    frames = asyncio.run(asyncio.wait_for(session(processor, picture), HANG_S * 2))
    # the first frames may predate the first analysis
    assert all(f.shape == picture.shape for f in frames)
    snap = processor.snapshot()
    assert snap.frames_analyzed >= FRAMES_BACK and snap.last_error is None
    assert snap.timeline[-1].faces == 1  # the astronaut, found in the frames that came over the wire


def test_only_analysed_frames_go_back_and_each_carries_the_overlay(analyzer, astronaut):
    picture = camera_canvas(astronaut)
    processor = LiveProcessor(analyzer, LiveOptions(show_stats=True))
    frames = asyncio.run(asyncio.wait_for(session(processor, picture, analysed_only=True), HANG_S * 2))
    assert len(frames) == FRAMES_BACK  # not one raw camera frame came back before or between them
    snap = processor.snapshot()
    assert snap.frames_analyzed >= FRAMES_BACK and snap.last_error is None and snap.ended
