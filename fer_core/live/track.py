"""The video sent back to a webcam visitor: each analysed frame once, and nothing in between.

    track = AnalysedTrack(processor)    # one per WebRTC session
    webrtc_streamer(..., sink_video_track=track.sink,   # camera frames in
                    source_video_track=track)           # analysed frames out

streamlit-webrtc's own processing track answers every camera frame with a frame, the last
analysed one again while the next is being analysed, and aiortc encodes and sends each of them.
Under load most frames are not analysed, so most of that encoding resends a picture the viewer
already has. Here the camera frames go to a worker thread (the sink's callback only hands them
over, so the event loop never waits for the model) that analyses the newest of those waiting
(`LiveProcessor.process_latest`, the analysis gate included) and the track sends each analysed
frame once: the viewer's video runs at the analysed frame rate, and nothing is encoded twice.

Threads: `take` and `recv` run on the event loop; the worker analyses on its own thread and
hands the result back with `call_soon_threadsafe`. `stop` (the camera track ended, or
streamlit-webrtc stopped the sink because the WebRTC session or the Streamlit session ended)
ends the worker and makes `recv` raise, which releases the track from aiortc's relay; a new
WebRTC session needs a new AnalysedTrack. The sink is ours, not streamlit-webrtc's
`create_video_sink_track`: that factory keeps a polling thread per session whose callback holds
the session's state, which kept a finished session's processor alive (tests/test_load_soak.py).
"""

from __future__ import annotations

import asyncio
import threading

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from fer_core.live.processor import LiveProcessor


class AnalysedTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self, processor: LiveProcessor) -> None:
        super().__init__()
        self._processor = processor
        self._arrived = threading.Condition()  # guards _camera_frames
        self._camera_frames: list[av.VideoFrame] = []
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self._ready = asyncio.Event()  # binds to the event loop on first use (Python >= 3.10)
        self._latest: av.VideoFrame | None = None
        self._worker: threading.Thread | None = None
        self.sink = CameraSink(self)

    # --- the camera side: the sink's callback, on the event loop -------------------------------

    def take(self, frame: av.VideoFrame) -> None:
        """A camera frame arrived: queue it for the worker, never wait."""
        if self.readyState != "live":
            return
        if self._event_loop is None:
            self._event_loop = asyncio.get_running_loop()
        with self._arrived:
            self._camera_frames.append(frame)
            self._arrived.notify()
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="fer-live-analysis", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        while True:
            with self._arrived:
                while not self._camera_frames and self.readyState == "live":
                    self._arrived.wait()
                if self.readyState != "live":
                    self._camera_frames.clear()
                    return
                frames, self._camera_frames = self._camera_frames, []
            analysed = self._processor.process_latest(frames)
            if analysed and self._event_loop is not None and not self._event_loop.is_closed():
                self._event_loop.call_soon_threadsafe(self._deliver, analysed[-1])

    def _deliver(self, frame: av.VideoFrame) -> None:
        self._latest = frame
        self._ready.set()

    # --- the viewer side: aiortc's sender (through streamlit-webrtc's relay) -------------------

    async def recv(self) -> av.VideoFrame:
        """The next analysed frame, as soon as there is one."""
        if self.readyState != "live":
            raise MediaStreamError
        if self._event_loop is None:  # so that a stop before the first camera frame wakes us
            self._event_loop = asyncio.get_running_loop()
        await self._ready.wait()
        self._ready.clear()
        frame = self._latest
        if self.readyState != "live" or frame is None:
            raise MediaStreamError
        return frame

    def stop(self) -> None:
        """The stream ended (from any thread): the worker finishes its frame and exits, `recv`
        raises."""
        if self.readyState != "live":
            return
        super().stop()
        with self._arrived:
            self._arrived.notify_all()
        if self._event_loop is not None and not self._event_loop.is_closed():
            self._event_loop.call_soon_threadsafe(self._ready.set)
        self._processor.on_ended()


class CameraSink:
    """streamlit-webrtc's MediaSink for the visitor's camera track: reads it on the event loop
    and hands every frame to the AnalysedTrack; when the camera ends or streamlit-webrtc stops
    the sink, the AnalysedTrack stops too."""

    def __init__(self, track: AnalysedTrack) -> None:
        self._track = track
        self._camera: MediaStreamTrack | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def addTrack(self, track: MediaStreamTrack) -> None:
        self._camera = track

    def hasTrack(self) -> bool:
        return self._camera is not None

    def start(self) -> None:
        """Called by streamlit-webrtc on the event loop once the connection is set up."""
        if self._camera is None:
            raise RuntimeError("CameraSink.start before a camera track was added")
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(self._camera))

    def stop(self) -> None:
        """From any thread (streamlit-webrtc stops its worker from the script or a shutdown thread)."""
        task, loop = self._task, self._loop
        self._task, self._camera = None, None
        if task is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)
        self._track.stop()

    async def _run(self, camera: MediaStreamTrack) -> None:
        try:
            while True:
                try:
                    frame = await camera.recv()
                except MediaStreamError:
                    return
                self._track.take(frame)  # type: ignore[arg-type]  # a video track's frames
        finally:
            self._track.stop()


__all__ = ["AnalysedTrack", "CameraSink"]
