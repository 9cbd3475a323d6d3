"""The webcam path: everything between a WebRTC video frame in and the annotated frame out.
Needs the `app` extra (`av`, which streamlit-webrtc brings); the photo, video-file and training
paths never import it.

    processor  LiveProcessor: one stream's callback (detect, classify, track, draw; frame skipping)
    records    what a stream records: FrameRecord per frame, the FPS meter, SessionSummary, LiveSnapshot
    gate       AnalysisGate: the process-wide limit on analyses at once (FER_ANALYSIS_SLOTS)
    capacity   StreamActivity and the stream limit: which streams run, camera rates, FER_MAX_STREAMS
    frames     av frames to RGB arrays and back, each way converted once
    track      AnalysedTrack: the video sent back, each analysed frame once (needs aiortc)
    tuning     detection every k-th frame, outgoing format and pacing (FER_DETECT_EVERY, FER_LIVE_*)
    ice        the STUN/TURN configuration browsers get (FER_STUN_URLS, FER_TURN_*, FER_ICE_POLICY)
    turn_probe whether each configured TURN relay answers (one STUN request, bounded in time)

Threads and locks (docs/architecture.md): AnalysedTrack's worker thread (with
FER_LIVE_PACING=camera, streamlit-webrtc's) calls the processor for each batch of frames; the
page's script thread configures it and reads snapshots. The processor owns its locks
(configuration, work, state); the gate and the stream activity are one per process and own theirs.
"""

from __future__ import annotations

from fer_core.labels import NO_FACE
from fer_core.live.processor import GATE_WAIT_S, LiveOptions, LiveProcessor, stats_lines
from fer_core.live.records import MAX_FRAME_GAP_S, FrameRecord, LiveSnapshot, SessionSummary

__all__ = ["GATE_WAIT_S", "MAX_FRAME_GAP_S", "NO_FACE", "FrameRecord", "LiveOptions", "LiveProcessor", "LiveSnapshot",
           "SessionSummary", "stats_lines"]
