"""A live-webcam visitor without a browser, for `python -m bench.capacity.load --clients aiortc`.

Headless Chromium visitors cost about as much CPU as the server they load (each one encodes its
fake camera, decodes the returned video and renders the page), so on a small machine the
browsers, not the server, ran out of CPU first. This visitor goes through the same doors a
browser does, with a fraction of the work:

* Streamlit's own websocket protocol (`/_stcore/stream`, BackMsg/ForwardMsg protobufs): it opens
  the Live webcam page in its own session, answers the live panel's timed fragment reruns, and
  reads the panel's figures from the metric elements the server sends;
* streamlit-webrtc's signalling, which rides on the component's value: the SDP offer goes up as
  `{"playing", "sdpOffer", "iceCandidates"}`, the answer comes back in the component's
  arguments, exactly as the component's frontend does it;
* an aiortc peer connection whose camera is one second of video encoded to VP8 once, up front,
  and sent in a loop (each loop starts on a key frame), so the client never encodes; like a
  browser it keeps to the frame rate the page's media constraints allow (`frameRate.max`) and
  sends the picture size they ask for (`width.ideal`, `height.ideal`), and it decodes the
  returned video, as a browser must, and counts its frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import av
import numpy as np
import websockets
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.helpers.browser import STREAM_TIMEOUT_S, PanelStats, overlay_drawn

T = TypeVar("T")
COMPONENT = "webrtc_streamer"  # streamlit-webrtc's component name (ends the full component name)
PAGE = "Live_webcam"


FULL_TEXT = "carrying as many live webcam streams as it can"  # the Live page's server-full warning


class ServerFull(RuntimeError):
    """The Live page turned this visitor away: the server carries its most streams."""


class ClientLoop:
    """One asyncio loop on a thread, shared by every visitor of a benchmark run."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="rtc-visitors", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = STREAM_TIMEOUT_S) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def encode_vp8(frames: list[np.ndarray], fps: int) -> list[bytes]:
    """RGB frames -> one VP8 frame each, the first a key frame (so that a loop can restart)."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = frames[0].shape[1], frames[0].shape[0]
    codec.pix_fmt, codec.time_base, codec.framerate = "yuv420p", fractions.Fraction(1, fps), fractions.Fraction(fps)
    codec.bit_rate = 1_500_000
    codec.options = {"deadline": "good", "lag-in-frames": "0", "kf-max-dist": str(len(frames))}
    packets: list[bytes] = []
    for i, rgb in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        frame.pict_type = av.video.frame.PictureType.I if i == 0 else av.video.frame.PictureType.NONE
        packets += [bytes(p) for p in codec.encode(frame)]
    packets += [bytes(p) for p in codec.encode(None)]
    if len(packets) != len(frames):
        raise RuntimeError(f"the VP8 encoder returned {len(packets)} packets for {len(frames)} frames")
    return packets


class LoopedCamera(MediaStreamTrack):
    """A camera that plays pre-encoded VP8 frames in a loop at `fps`."""

    kind = "video"

    def __init__(self, packets: list[bytes], fps: int) -> None:
        super().__init__()
        self.packets, self.fps, self.sent = packets, fps, 0
        self.started: float | None = None

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.started is None:
            self.started = time.monotonic()
        wait = self.started + self.sent / self.fps - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = av.Packet(self.packets[self.sent % len(self.packets)])
        packet.pts, packet.time_base = self.sent, fractions.Fraction(1, self.fps)
        self.sent += 1
        return packet


class RtcVisitor:
    """One visitor on the Live webcam page, in its own Streamlit session, with tests.helpers.browser's
    WebcamPage interface (start, wait_processed, frames_shown, panel, text, stop, close)."""

    def __init__(self, clients: ClientLoop, base_url: str, references: dict[tuple[int, int], np.ndarray],
                 cameras: dict[tuple[int, int, int], list[bytes]]) -> None:
        """`cameras`: the camera's loop pre-encoded at each (fps, width, height) it may be asked
        for; `references`: its first picture at each (width, height), for `overlay_drawn`."""
        self.clients, self.references, self.cameras = clients, references, cameras
        self.max_fps: float | None = None  # the page's frameRate constraint, once read
        self.ideal_size: tuple[int, int] | None = None  # the page's width / height constraint
        self.fps, width, height = max(cameras)
        self.size = (width, height)
        self.ws_url = base_url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.ws: Any = None
        self.pc: RTCPeerConnection | None = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.page_hash = ""
        self.component_id: str | None = None
        self.value: dict[str, Any] = {"playing": False, "sdpOffer": "", "iceCandidates": {}}
        self.answer: dict[str, Any] | None = None
        self.metrics: dict[str, str] = {}
        self.alerts: list[str] = []
        self.fragments: dict[str, asyncio.Task[Any]] = {}
        self.received = 0
        self.last_frame: av.VideoFrame | None = None
        self.error: str | None = None

    # -- Streamlit's protocol -------------------------------------------------------------------

    async def _send_rerun(self, fragment_id: str = "") -> None:
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = ""
        if self.page_hash:
            state.page_script_hash = self.page_hash
        else:
            state.page_name = PAGE
        if fragment_id:
            state.fragment_id, state.is_auto_rerun = fragment_id, True
        if self.component_id is not None:
            widget = state.widget_states.widgets.add()
            widget.id, widget.json_value = self.component_id, json.dumps(self.value)
        await self.ws.send(msg.SerializeToString())

    async def _every(self, fragment_id: str, interval_s: float) -> None:
        """What the page's browser does for a fragment with run_every: rerun it on a timer."""
        while True:
            await asyncio.sleep(interval_s)
            await self._send_rerun(fragment_id)

    def _on_element(self, element: Any) -> None:
        kind = element.WhichOneof("type")
        if kind == "component_instance" and element.component_instance.component_name.endswith(COMPONENT):
            self.component_id = element.component_instance.id
            args = json.loads(element.component_instance.json_args or "{}")
            video = (args.get("media_stream_constraints") or {}).get("video") or {}
            rate = video.get("frameRate") or {}
            self.max_fps = rate.get("max") if isinstance(rate, dict) else rate
            width, height = (video.get(k) or {} for k in ("width", "height"))
            if isinstance(width, dict) and isinstance(height, dict) and width.get("ideal") and height.get("ideal"):
                self.ideal_size = (int(width["ideal"]), int(height["ideal"]))
            answer = args.get("sdp_answer_json")
            if answer and self.answer is None:
                self.answer = json.loads(answer)
        elif kind == "metric":
            self.metrics[element.metric.label] = element.metric.body
        elif kind == "alert":
            self.alerts = [*self.alerts[-20:], element.alert.body]

    async def _read(self) -> None:
        async for raw in self.ws:
            msg = ForwardMsg.FromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "navigation":  # the page this session is on (new_session names the main script)
                self.page_hash = msg.navigation.page_script_hash
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                self._on_element(msg.delta.new_element)
            elif kind == "auto_rerun":
                fid = msg.auto_rerun.fragment_id
                if fid not in self.fragments:
                    self.fragments[fid] = asyncio.create_task(self._every(fid, msg.auto_rerun.interval))

    async def _until(self, condition: Any, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {what} within {timeout_s:.0f} s")
            await asyncio.sleep(0.05)

    # -- WebRTC ---------------------------------------------------------------------------------

    async def _receive(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                self.last_frame = await track.recv()  # type: ignore[assignment]
            except Exception:  # the track ended (MediaStreamError): the stream stopped
                return
            self.received += 1

    async def _start(self, timeout_s: float) -> None:
        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None)  # type: ignore[list-item]
        self.tasks.append(asyncio.create_task(self._read()))
        await self._send_rerun()
        await self._until(lambda: self.component_id is not None or any(FULL_TEXT in a for a in self.alerts),
                          timeout_s, "webrtc component on the page")
        if self.component_id is None:
            raise ServerFull("the page says the server is full")

        # as getUserMedia would: the fastest camera rate the page's constraint allows, at the size it
        # asks for (the largest we have when it names none)
        sizes = {(w, h) for _, w, h in self.cameras}
        self.size = self.ideal_size if self.ideal_size in sizes else max(sizes)
        rates = [f for f, w, h in self.cameras if (w, h) == self.size]
        self.fps = max((f for f in rates if self.max_fps is None or f <= self.max_fps), default=min(rates))
        self.pc = RTCPeerConnection()
        camera = LoopedCamera(self.cameras[(self.fps, *self.size)], self.fps)
        transceiver = self.pc.addTransceiver(camera, direction="sendrecv")
        transceiver.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs
                                         if c.mimeType.lower() == "video/vp8"])
        got_track = asyncio.Event()

        @self.pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                self.tasks.append(asyncio.create_task(self._receive(track)))
                got_track.set()

        await self.pc.setLocalDescription(await self.pc.createOffer())  # gathers every candidate
        offer = self.pc.localDescription
        self.value = {"playing": False, "sdpOffer": {"type": offer.type, "sdp": offer.sdp}, "iceCandidates": {}}
        await self._send_rerun()
        await self._until(lambda: self.answer is not None, timeout_s, "SDP answer from the server")
        assert self.answer is not None
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=self.answer["sdp"], type=self.answer["type"]))
        await asyncio.wait_for(got_track.wait(), timeout_s)
        self.value = {"playing": True, "sdpOffer": "", "iceCandidates": {}}
        await self._send_rerun()

    async def _stop(self) -> None:
        if self.ws is not None and self.component_id is not None:
            self.value = {"playing": False, "sdpOffer": "", "iceCandidates": {}}
            await self._send_rerun()
        if self.pc is not None:
            await self.pc.close()

    async def _close(self) -> None:
        for task in [*self.tasks, *self.fragments.values()]:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()
        if self.ws is not None:
            await self.ws.close()

    # -- the WebcamPage interface ---------------------------------------------------------------

    def start(self, timeout_s: float = STREAM_TIMEOUT_S) -> None:
        self.clients.run(self._start(timeout_s), timeout_s * 3)

    def wait_processed(self, timeout_s: float = STREAM_TIMEOUT_S, poll_s: float = 0.1) -> np.ndarray | None:
        """The first returned frame our callback analysed (tests.helpers.browser.overlay_drawn), or None."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            frame = self.last_frame
            if frame is not None:
                rgb = frame.to_ndarray(format="rgb24")
                reference = self.references.get((rgb.shape[1], rgb.shape[0]))
                if reference is not None and overlay_drawn(rgb, reference):
                    return rgb
            time.sleep(poll_s)
        return None

    def frames_shown(self, timeout_s: float = 5.0) -> int | None:
        return self.received

    def panel(self, timeout_s: float = 5.0) -> PanelStats | None:
        try:
            return PanelStats(float(self.metrics["Analysed FPS"]),
                              float(self.metrics["Latency"].split()[0]),
                              float(self.metrics["Skipped"].rstrip("%")) / 100.0)
        except (KeyError, ValueError, IndexError):
            return None

    def text(self, timeout_s: float = 30.0) -> str:
        return "\n".join(self.alerts)

    def stop(self) -> None:
        self.clients.run(self._stop(), 30)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a connection the server already dropped
            self.clients.run(self._close(), 30)
