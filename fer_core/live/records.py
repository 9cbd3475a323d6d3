"""What one webcam stream records, as plain values the page can read on any thread: a row per
analysed frame (`FrameRecord`), the FPS / latency meter, the time per emotion over the session
(`SessionSummary`) and the consistent copy of all of it that `LiveProcessor.snapshot` returns
(`LiveSnapshot`). No locks here: the processor owns them (fer_core.live.processor)."""

from __future__ import annotations

import csv
import io
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from fer_core.labels import EMOTIONS, NO_FACE

MAX_FRAME_GAP_S = 1.0  # a longer pause (stream stalled) counts as this long in the summary


@dataclass(frozen=True)
class FrameRecord:
    """One analysed frame, for the timeline: the main (largest) face's smoothed probabilities."""

    t: float  # seconds since the stream's first analysed frame
    faces: int
    face_id: int | None  # None when no face was found
    probabilities: np.ndarray | None = field(compare=False)  # (7,) in EMOTIONS order
    latency_ms: float = 0.0

    @property
    def emotion(self) -> str | None:
        return None if self.probabilities is None else EMOTIONS[int(np.argmax(self.probabilities))]


class RateMeter:
    """Analysed frames per second, per-frame latency and the share of skipped frames, over a
    sliding time window (so the readout follows the current load, not the session average)."""

    def __init__(self, window_s: float = 2.0) -> None:
        self.window_s = window_s
        self._events: deque[tuple[float, float, int]] = deque()  # (time, latency s, dropped before)

    def add(self, now: float, latency_s: float, dropped: int = 0) -> None:
        self._events.append((now, latency_s, dropped))
        while self._events and now - self._events[0][0] > self.window_s:
            self._events.popleft()

    @property
    def fps(self) -> float:
        if len(self._events) < 2:
            return 0.0
        span = self._events[-1][0] - self._events[0][0]
        return (len(self._events) - 1) / span if span > 0 else 0.0

    @property
    def latency_ms(self) -> float:
        """Median analysis time in the window (the median ignores one-off hiccups)."""
        if not self._events:
            return 0.0
        return float(np.median([lat for _, lat, _ in self._events])) * 1000.0

    @property
    def drop_share(self) -> float:
        """Frames skipped / frames received in the window."""
        dropped = sum(d for _, _, d in self._events)
        total = dropped + len(self._events)
        return dropped / total if total else 0.0


class SessionSummary:
    """Seconds spent in each emotion (of the main face) and without any face."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {name: 0.0 for name in (*EMOTIONS, NO_FACE)}

    def add(self, emotion: str | None, seconds: float) -> None:
        self._seconds[emotion or NO_FACE] += max(0.0, float(seconds))

    def seconds(self) -> dict[str, float]:
        return dict(self._seconds)

    def total(self) -> float:
        return sum(self._seconds.values())

    def shares(self) -> dict[str, float]:
        """Fraction of the session per row (all zero before any time has passed)."""
        total = self.total()
        return {k: (v / total if total > 0 else 0.0) for k, v in self._seconds.items()}

    def copy(self) -> SessionSummary:
        other = SessionSummary()
        other._seconds = dict(self._seconds)
        return other

    def to_csv(self) -> str:
        """emotion,seconds,share: one row per emotion plus "no face"; share 0-1, like every
        probability and share in the app's downloads."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["emotion", "seconds", "share"])
        shares = self.shares()
        for name, seconds in self._seconds.items():
            writer.writerow([name, f"{seconds:.2f}", f"{shares[name]:.4f}"])
        return out.getvalue()


@dataclass(frozen=True)
class LiveSnapshot:
    """A consistent copy of a processor's state, safe to use on any thread."""

    # fps, latency_ms and drop_share: the readout drawn on the last analysed frame (over the
    # meter's last 2 s), so the page and the video never show two different numbers
    fps: float
    latency_ms: float
    drop_share: float
    frames_received: int
    frames_analyzed: int
    frames_dropped: int
    timeline: list[FrameRecord]
    summary: SessionSummary
    last_error: str | None
    ended: bool  # the camera track ended (stopped, unplugged or permission revoked)
    idle_s: float | None  # seconds since the last analysed frame; None before the first

    @property
    def session_drop_share(self) -> float:
        """Frames skipped / frames received since the stream started."""
        return self.frames_dropped / self.frames_received if self.frames_received else 0.0

    def timeline_arrays(self, last_seconds: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(times (N,), probabilities (N, 7)) of the main face, the last `last_seconds` only
        when given; NaN rows where no face was seen, so charts show gaps."""
        rows = self.timeline
        if rows and last_seconds is not None:
            rows = [r for r in rows if r.t >= rows[-1].t - last_seconds]
        times = np.array([r.t for r in rows], dtype=np.float64)
        probs = np.full((len(rows), len(EMOTIONS)), np.nan, dtype=np.float64)
        for i, r in enumerate(rows):
            if r.probabilities is not None:
                probs[i] = r.probabilities
        return times, probs

    def timeline_csv(self) -> str:
        """time_s,faces,face_id,emotion,<7 probabilities>,latency_ms per analysed frame (the
        video page's column names and units: seconds, probabilities 0-1)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["time_s", "faces", "face_id", "emotion", *EMOTIONS, "latency_ms"])
        for r in self.timeline:
            probs = [""] * len(EMOTIONS) if r.probabilities is None else [f"{p:.4f}" for p in r.probabilities]
            writer.writerow([f"{r.t:.3f}", r.faces, "" if r.face_id is None else r.face_id,
                             r.emotion or "", *probs, f"{r.latency_ms:.1f}"])
        return out.getvalue()
