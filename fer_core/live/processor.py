"""Live video analysis, independent of Streamlit: one `LiveProcessor` per webcam stream.

    processor = LiveProcessor(analyzer, LiveOptions(smoothing=0.6))
    out_frame = processor.process(av_frame)          # detect, classify, track, draw
    processor.configure(new_analyzer, new_options)   # from any thread; the next frame uses it
    snap = processor.snapshot()                      # FPS, latency, timeline, summary (any thread)

Threads: a stream's worker thread (fer_core.live.track.AnalysedTrack's, or streamlit-webrtc's
with FER_LIVE_PACING=camera) calls `process_latest` (`recv_queued`) while the page's script
thread calls `configure` and `snapshot`. Configuration is an immutable snapshot swapped under a
lock, and the page only ever gets copies of the shared state.

Frame dropping: the worker hands `process_latest` every frame that arrived while the previous
one was being analysed, so the video never waits for the model; it analyses only the newest of
those frames and counts the others as dropped. In the app all streams of the process share one
`AnalysisGate` (fer_core.live.gate) and take turns. How a frame is converted, and how often the
detector runs, is the process's `LiveTuning` (fer_core.live.tuning).

The WebRTC ICE server list (STUN/TURN) comes from `fer_core.live.ice`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import av
import numpy as np

from fer_core.drawing import draw_faces, draw_text_overlay
from fer_core.live.capacity import StreamActivity
from fer_core.live.frames import to_rgb, to_video_frame
from fer_core.live.gate import AnalysisGate
from fer_core.live.records import MAX_FRAME_GAP_S, FrameRecord, LiveSnapshot, RateMeter, SessionSummary
from fer_core.live.tuning import LiveTuning
from fer_core.pipeline import FaceAnalyzer, FaceResult, StreamAnalyzer, largest_face

logger = logging.getLogger(__name__)

DEFAULT_HISTORY = 1800  # timeline rows kept: a minute at 30 analysed frames per second
# Longest wait for an analysis turn before the frames are skipped (streamlit-webrtc stops a
# stream whose callback takes more than 10 s).
GATE_WAIT_S = 1.0


@dataclass(frozen=True)
class LiveOptions:
    """What the user can change while the camera runs (besides the models)."""

    smoothing: float = 0.6
    show_probabilities: bool = False
    show_stats: bool = True  # the FPS / latency readout on the video

    def __post_init__(self) -> None:
        if not 0.0 <= self.smoothing < 1.0:
            raise ValueError(f"smoothing must lie in [0, 1), got {self.smoothing}")


@dataclass(frozen=True)
class _Config:
    analyzer: FaceAnalyzer
    options: LiveOptions


def stats_lines(fps: float, latency_ms: float, drop_share: float) -> list[str]:
    """The on-video readout, e.g. ["12.3 FPS | 48 ms", "skipping 35% of frames"]."""
    lines = [f"{fps:.1f} FPS | {latency_ms:.0f} ms"]
    if drop_share >= 0.005:
        lines.append(f"skipping {drop_share * 100:.0f}% of frames")
    return lines


class LiveProcessor:
    """Per-stream analysis: tracking, smoothing, overlay, meters, timeline and summary."""

    def __init__(
        self,
        analyzer: FaceAnalyzer,
        options: LiveOptions | None = None,
        *,
        history: int = DEFAULT_HISTORY,
        clock: Callable[[], float] = time.monotonic,
        gate: AnalysisGate | None = None,
        activity: StreamActivity | None = None,
        tuning: LiveTuning | None = None,
    ) -> None:
        """`gate`: shared by every stream of a process (the app's), so streams take turns at
        analysing; None analyses every stream's frames as they come. `activity`: the process's
        record of live streams (fer_core.live.capacity), told of every frame batch. `tuning`:
        detection every k-th frame and the outgoing pixel format (fer_core.live.tuning)."""
        self._clock = clock
        self._tuning = tuning or LiveTuning()
        self._gate = gate
        self._activity = activity
        self._config_lock = threading.Lock()
        self._config = _Config(analyzer, options or LiveOptions())
        self._work_lock = threading.Lock()  # one frame at a time; guards _stream
        self._stream = self._new_stream(analyzer, self._config.options.smoothing)
        self._state_lock = threading.Lock()  # guards everything below
        self._history = history
        self._reset_state()

    # --- configuration (any thread) ----------------------------------------------------

    def configure(self, analyzer: FaceAnalyzer | None = None, options: LiveOptions | None = None) -> None:
        """Swap models and/or options; the next analysed frame uses them. Changing the detector
        or classifier restarts tracking (old smoothed probabilities came from another model)."""
        with self._config_lock:
            current = self._config
            self._config = _Config(analyzer or current.analyzer, options or current.options)

    @property
    def options(self) -> LiveOptions:
        with self._config_lock:
            return self._config.options

    def reset(self) -> None:
        """Start a new session: clear tracks, meters, timeline and summary."""
        with self._work_lock:
            self._stream.reset()
            with self._state_lock:
                self._reset_state()

    def on_ended(self) -> None:
        """The input track ended; the next frame that arrives starts a new session."""
        with self._state_lock:
            self._ended = True
        if self._activity is not None:
            self._activity.forget(id(self))

    # --- frame processing (the WebRTC worker thread) ---------------------------------------

    async def recv_queued(self, frames: list[av.VideoFrame]) -> list[av.VideoFrame]:
        """streamlit-webrtc's `queued_video_frames_callback`."""
        return self.process_latest(frames)

    def process_latest(self, frames: Sequence[av.VideoFrame]) -> list[av.VideoFrame]:
        """Analyse only the newest of the frames that queued up meanwhile; drop the rest. With a
        gate, wait for this stream's turn first; without a turn in GATE_WAIT_S, drop them all
        (an empty list: streamlit-webrtc sends the last processed frame again)."""
        if not frames:
            return []
        if self._activity is not None:
            self._activity.saw(id(self))
        if self._gate is None:
            return self._process_newest(frames)
        with self._gate.turn(GATE_WAIT_S) as granted:
            if granted:
                return self._process_newest(frames)
        with self._state_lock:
            self._pending_drops += len(frames)
        return []

    def _process_newest(self, frames: Sequence[av.VideoFrame]) -> list[av.VideoFrame]:
        with self._state_lock:
            self._pending_drops += len(frames) - 1
        return [self.process(frames[-1])]

    def process(self, frame: av.VideoFrame) -> av.VideoFrame:
        """Analyse one frame and return it annotated (same size, timestamps kept)."""
        rgb, ours = to_rgb(frame)  # a camera frame's array is new: drawn on in place, no copy
        return to_video_frame(self.process_rgb(rgb, in_place=ours), frame, self._tuning.frame_format)

    def process_rgb(self, rgb: np.ndarray, *, in_place: bool = False) -> np.ndarray:
        """The core of `process` on an RGB array: an annotated copy (or `rgb` itself drawn on,
        when `in_place`). Never raises on a bad model call: the frame goes back with the error
        written on it, and `snapshot()` has it. Raises ValueError for anything but an RGB uint8
        (H, W, 3) array."""
        if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3):
            shape = getattr(rgb, "shape", None)
            raise ValueError(f"LiveProcessor expects an RGB uint8 (H, W, 3) frame, got {type(rgb).__name__} {shape}")
        with self._work_lock:
            started = self._clock()
            self._begin_frame()
            config = self._current_config()
            faces: list[FaceResult] = []
            error: str | None = None
            try:
                faces = self._stream.update(rgb)
                canvas = draw_faces(rgb, faces, show_probabilities=config.options.show_probabilities,
                                    in_place=in_place)
            except Exception as exc:  # a broken frame must not kill the stream thread
                error = f"{type(exc).__name__}: {exc}"
                if error != self._last_error:  # once per distinct error, not 30 times a second
                    logger.exception("live analysis failed")
                canvas = rgb if in_place else np.array(rgb, dtype=np.uint8, copy=True)
            finished = self._clock()
            stats = self._record(started, finished, faces, error)
            lines = stats_lines(*stats) if config.options.show_stats else []
            if error is not None:
                lines.append("analysis error - see the page")
            return draw_text_overlay(canvas, lines, in_place=True) if lines else canvas

    # --- reading the state (the page's thread) ---------------------------------------------

    def snapshot(self) -> LiveSnapshot:
        with self._state_lock:
            return LiveSnapshot(
                fps=self._shown[0],
                latency_ms=self._shown[1],
                drop_share=self._shown[2],
                frames_received=self._received,
                frames_analyzed=self._analyzed,
                frames_dropped=self._dropped,
                timeline=list(self._timeline),
                summary=self._summary.copy(),
                last_error=self._last_error,
                ended=self._ended,
                idle_s=None if self._last_frame_at is None else max(0.0, self._clock() - self._last_frame_at),
            )

    # --- internals ------------------------------------------------------------------------

    def _reset_state(self) -> None:
        self._meter = RateMeter()
        self._shown = (0.0, 0.0, 0.0)  # the readout on the last frame: the page shows these very numbers
        self._timeline: deque[FrameRecord] = deque(maxlen=self._history)
        self._summary = SessionSummary()
        self._received = self._analyzed = self._dropped = 0
        self._pending_drops = 0  # skipped since the last analysed frame
        self._t0: float | None = None
        self._last_frame_at: float | None = None
        self._last_error: str | None = None
        self._ended = False

    def _begin_frame(self) -> None:
        with self._state_lock:
            restart = self._ended
        if restart:  # camera restarted after it ended: a new session
            self._stream.reset()
            with self._state_lock:
                self._reset_state()

    def _new_stream(self, analyzer: FaceAnalyzer, smoothing: float) -> StreamAnalyzer:
        return StreamAnalyzer(analyzer, smoothing=smoothing, detect_every=self._tuning.detect_every)

    def _current_config(self) -> _Config:
        """Bring the stream in line with the latest configuration (work lock held)."""
        with self._config_lock:
            config = self._config
        old = self._stream.analyzer
        new = config.analyzer
        if new.detector is not old.detector or new.classifier is not old.classifier:
            self._stream = self._new_stream(new, config.options.smoothing)
        elif new is not old:
            self._stream.analyzer = new  # same models in a new wrapper: keep the tracks
        if self._stream.smoothing != config.options.smoothing:
            self._stream.smoothing = config.options.smoothing
        return config

    def _record(self, started: float, finished: float, faces: list[FaceResult],
                error: str | None) -> tuple[float, float, float]:
        main = largest_face(faces)
        with self._state_lock:
            if self._t0 is None:
                self._t0 = started
            if self._last_frame_at is not None:
                gap = min(finished - self._last_frame_at, MAX_FRAME_GAP_S)
                self._summary.add(None if main is None else main.emotion, gap)
            self._last_frame_at = finished
            dropped, self._pending_drops = self._pending_drops, 0
            self._received += 1 + dropped
            self._dropped += dropped
            self._analyzed += 1
            self._meter.add(finished, finished - started, dropped)
            self._timeline.append(FrameRecord(
                t=started - self._t0,
                faces=len(faces),
                face_id=None if main is None else main.face_id,
                probabilities=None if main is None else main.probabilities.copy(),
                latency_ms=(finished - started) * 1000.0,
            ))
            if error is not None:
                self._last_error = error
            self._shown = (self._meter.fps, self._meter.latency_ms, self._meter.drop_share)
            return self._shown
