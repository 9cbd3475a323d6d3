"""The webcam callback under a simulated 30 FPS camera, in real time.

A producer thread stands in for the WebRTC receiver: it wraps a new `av.VideoFrame` every 1/30 s
(a face moving a little) and queues it. The consumer stands in for streamlit-webrtc's worker
with `async_processing=True`: it takes every frame that queued up while it was busy and hands
them to `LiveProcessor.process_latest`, which analyses only the newest (newest frame wins) and
counts the rest as dropped, exactly as the app's `recv_queued` callback does.

Measured: frames analysed per second, the share of camera frames analysed, the added latency
(camera frame queued -> its annotated frame returned: waiting for the worker plus analysis),
and the analysis time alone.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from fractions import Fraction
from typing import Any

import av
import numpy as np

from bench.common.stats import percentiles
from fer_core.pipeline import FaceAnalyzer

FPS_IN = 30
KEEP_UP_SHARE = 0.95  # "keeps up" = at least 95% of camera frames analysed


class _Callback:
    """fer_core.live.LiveProcessor when it is installed, else the same work spelled out
    (StreamAnalyzer + draw_faces) so the benchmark runs on older checkouts too."""

    def __init__(self, analyzer: FaceAnalyzer) -> None:
        try:
            from fer_core.live import LiveProcessor
        except ImportError:
            from fer_core.pipeline import StreamAnalyzer

            self.source = "StreamAnalyzer + draw_faces (fer_core.live not installed)"
            self._stream = StreamAnalyzer(analyzer)
            self._live = None
        else:
            self.source = "fer_core.live.LiveProcessor.process_latest"
            self._live = LiveProcessor(analyzer)

    def __call__(self, frames: list[av.VideoFrame]) -> av.VideoFrame:
        if self._live is not None:
            return self._live.process_latest(frames)[0]
        from fer_core.drawing import draw_faces

        newest = frames[-1]
        rgb = newest.to_ndarray(format="rgb24")
        return av.VideoFrame.from_ndarray(draw_faces(rgb, self._stream.update(rgb)), format="rgb24")


def simulate(analyzer: FaceAnalyzer, sequence: list[np.ndarray], seconds: float, fps: int = FPS_IN) -> dict[str, Any]:
    """Run the callback for `seconds` of a `fps` camera stream cycling through `sequence`."""
    callback = _Callback(analyzer)
    callback([av.VideoFrame.from_ndarray(sequence[0], format="rgb24")])  # warm-up, as a page load does
    total = int(round(seconds * fps))
    queue: deque[tuple[av.VideoFrame, float]] = deque()
    ready = threading.Condition()
    done = threading.Event()
    late_ms: list[float] = []

    def produce() -> None:
        start = time.perf_counter()
        for i in range(total):
            due = start + i / fps
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            late_ms.append(max(0.0, (time.perf_counter() - due) * 1000.0))
            frame = av.VideoFrame.from_ndarray(sequence[i % len(sequence)], format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            with ready:
                queue.append((frame, time.perf_counter()))
                ready.notify()
        done.set()
        with ready:
            ready.notify()

    producer = threading.Thread(target=produce, name="fake-camera", daemon=True)
    added, analysis = [], []
    analysed = 0
    started = time.perf_counter()
    producer.start()
    while True:
        with ready:
            while not queue and not done.is_set():
                ready.wait(0.5)
            if not queue and done.is_set():
                break
            batch = list(queue)
            queue.clear()
        t0 = time.perf_counter()
        callback([f for f, _ in batch])
        t1 = time.perf_counter()
        analysed += 1
        analysis.append((t1 - t0) * 1000.0)
        added.append((t1 - batch[-1][1]) * 1000.0)
    elapsed = time.perf_counter() - started
    producer.join()
    lat, work = percentiles(added), percentiles(analysis)
    share = analysed / total if total else 0.0
    return {
        "callback": callback.source,
        "frame": f"{sequence[0].shape[1]}x{sequence[0].shape[0]}, 1 face (moving)",
        "seconds": round(elapsed, 2),
        "camera_fps": fps,
        "frames_sent": total,
        "frames_analysed": analysed,
        "analysed_fps": round(analysed / elapsed, 1),
        "share_analysed": round(share, 4),
        "added_latency_p50_ms": lat["p50_ms"],
        "added_latency_p95_ms": lat["p95_ms"],
        "analysis_p50_ms": work["p50_ms"],
        "analysis_p95_ms": work["p95_ms"],
        "camera_late_p95_ms": round(float(np.percentile(late_ms, 95)), 2) if late_ms else None,
        "keeps_up": share >= KEEP_UP_SHARE,
    }
