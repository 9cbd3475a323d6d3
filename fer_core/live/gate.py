"""A process-wide limit on how many video frames are analysed at the same time.

One server process runs every visitor's WebRTC stream: decoding, encoding and packet handling on
aiortc's threads, and one analysis thread per stream. They share one interpreter lock, so several
analyses at once do not run faster; they crowd out the WebRTC threads, and under load every
stream's video stops for seconds (bench.capacity.load measured gaps of 6 s at 4 streams without a gate).
With a gate, streams take turns (the longest waiter is woken first): a stream waiting for its turn skips
frames, and streamlit-webrtc keeps sending its last processed frame meanwhile.

    gate = AnalysisGate(slots=1)
    with gate.turn(timeout_s=1.0) as granted:
        if granted:
            ...  # analyse

The app's slot count comes from FER_ANALYSIS_SLOTS (`slots_from_env`); bench.capacity.load measures it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping

from fer_core.env_settings import whole_number

DEFAULT_SLOTS = 1
SLOTS_ENV = "FER_ANALYSIS_SLOTS"


class AnalysisGate:
    """At most `slots` analyses at once. A freed slot wakes the longest waiter (threading's
    Condition notifies first in, first out; a stream arriving at that instant may still take it
    first), so no waiting stream is passed over for long."""

    def __init__(self, slots: int = DEFAULT_SLOTS) -> None:
        if slots < 1:
            raise ValueError(f"an analysis gate needs at least 1 slot, got {slots}")
        self.slots = slots
        self._semaphore = threading.BoundedSemaphore(slots)

    @contextlib.contextmanager
    def turn(self, timeout_s: float) -> Iterator[bool]:
        """Wait up to `timeout_s` for a slot; yields whether one was granted, and frees it after."""
        granted = self._semaphore.acquire(timeout=max(0.0, timeout_s))
        try:
            yield granted
        finally:
            if granted:
                self._semaphore.release()


def slots_from_env(environ: Mapping[str, str]) -> int:
    """FER_ANALYSIS_SLOTS as a positive integer (default 1); anything else is a clear error."""
    return whole_number(SLOTS_ENV, environ.get(SLOTS_ENV), default=DEFAULT_SLOTS, minimum=1,
                        expected="a whole number of at least 1")
