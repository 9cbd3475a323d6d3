"""Loaded into the app's server process by `python -m bench.capacity.soak` (this folder goes first on its
PYTHONPATH); never part of the app. On SIGUSR1 it answers, in the JSON file named by
FER_SOAK_PROBE_OUT, the question the soak's memory figures leave open: is memory that stays
resident after the sessions ended still held by objects, or only kept by the allocator?

It counts the live objects of the kinds a finished session could leave behind (our processors,
streamlit-webrtc workers, aiortc peer connections and tracks, decoded frames, Streamlit
sessions), then reads resident memory before and after asking glibc to return its free pages to
the system (malloc_trim(0)); the difference is memory no object holds.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import signal
import time
from collections import Counter
from typing import Any

WATCHED = ("LiveProcessor", "WebRtcWorker", "RTCPeerConnection", "RTCRtpReceiver", "RTCRtpSender",
           "VideoFrame", "AppSession", "SessionState", "FaceAnalyzer")


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _trim() -> bool:
    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):  # not glibc
        return False


def probe() -> dict[str, Any]:
    gc.collect()
    objects = gc.get_objects()
    counts = Counter(type(o).__name__ for o in objects)
    # a session object can outlive its shutdown (see ui/session_reaper.py): what does it still hold?
    sessions = [{"state": str(getattr(o, "_state", "?")).rsplit(".", 1)[-1],
                 "session_state_items": len(o.session_state)}
                for o in objects if type(o).__name__ == "AppSession"]
    del objects
    rss_before = _rss_mib()
    trimmed = _trim()
    time.sleep(0.5)
    return {"objects": {name: counts.get(name, 0) for name in WATCHED}, "sessions": sessions,
            "gc_objects": sum(counts.values()), "rss_mib_before_trim": rss_before,
            "rss_mib_after_trim": _rss_mib(), "malloc_trim": trimmed}


def _answer(signum: int, frame: Any) -> None:
    out = os.environ.get("FER_SOAK_PROBE_OUT")
    if out:
        tmp = f"{out}.tmp"
        with open(tmp, "w") as f:
            json.dump(probe(), f)
        os.replace(tmp, out)


if os.environ.get("FER_SOAK_PROBE_OUT"):
    signal.signal(signal.SIGUSR1, _answer)

