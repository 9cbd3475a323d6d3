"""Shut down the Streamlit sessions whose browser left and did not come back.

Streamlit keeps a disconnected session for `server.disconnectedSessionTTL` seconds (default
120) so that a tab which lost its connection can resume it. It keeps them in a TTL cache
(streamlit.runtime.memory_session_storage) that, when an entry expires, only forgets it: the
session is never shut down. Its uploaded files, the media and downloads its pages registered
(annotated photos and videos, result CSV/JSON) and its state then stay in the server's memory for
the life of the process (Streamlit 1.67; found by tests/test_privacy.py, which fails without this
module). Faces are personal data, so the app does what a shutdown on expiry would: every
`REAP_EVERY_S` it takes the expired entries out of that storage and shuts their sessions down, on
the server's event loop, as Streamlit's own disconnect handling does.

A session that was shut down can still be referenced afterwards: Streamlit's runtime loop keeps
the last session it flushed in a loop variable until it flushes again (Streamlit 1.67,
`Runtime._loop_coroutine`), so the last visitor's session object outlives its shutdown while
nobody else connects, and with it everything in its session state (the Live page's processor,
a Photo page's results, and through the pages' callbacks and fragments their globals). The
reaper therefore gives every session it shuts down an empty state (bench.capacity.soak's probe counts
what stays alive in the server: tests/test_load_soak.py).
Once sessions ended, it collects their reference cycles and asks glibc to give the freed pages
back to the system (`malloc_trim`): without that, the server's resident memory stayed at its
highest level after its visitors left, although no object held it (bench.capacity.soak: docs/capacity.md).

The same storage also holds at most 128 sessions and forgets the least recently used one, again
without a shutdown, when more browsers than that leave within the reconnect time. The reaper
lifts that count limit, so every session stays until it expires and is then shut down: the
storage stays bounded by the reconnect time instead.

This reaches into Streamlit internals (`Runtime._session_mgr`, its `_session_storage._cache` and
`_storage_lock`). If a Streamlit release moves them, the reaper logs one warning and stops, and
tests/test_privacy.py fails: check that release's session storage before upgrading.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import math
import threading
from typing import Any

import streamlit as st
from streamlit.logger import get_logger

REAP_EVERY_S = 10.0
_log = get_logger(__name__)  # Streamlit's own log format and level (server.log_level)


def _storage_parts(runtime: Any) -> tuple[Any, Any] | None:
    """(the TTL cache of disconnected sessions, the lock that guards it), or None if moved."""
    manager = getattr(runtime, "_session_mgr", None)
    cache = getattr(getattr(manager, "_session_storage", None), "_cache", None)
    lock = getattr(manager, "_storage_lock", None)
    if cache is None or lock is None or not callable(getattr(cache, "expire", None)):
        return None
    return cache, lock


def keep_until_expiry(cache: Any) -> bool:
    """Lift the storage's count limit (Streamlit's TTLCache keeps it in `_maxsize`); False if
    that attribute has moved."""
    if not isinstance(getattr(cache, "_maxsize", None), (int, float)):
        return False
    cache._maxsize = math.inf
    return True


def drop_session_data(session: Any) -> None:
    """Give a shut-down session an empty state and fragment store, so that a reference Streamlit
    keeps to the session object holds none of the visitor's data. Clearing the old state is not
    enough: its widget metadata keeps the pages' callbacks (bound to the Live page's processor),
    and a stored fragment keeps its page's globals."""
    from streamlit.runtime.fragment import MemoryFragmentStorage
    from streamlit.runtime.state import SessionState

    if hasattr(session, "_session_state"):
        session._session_state = SessionState()
    if hasattr(session, "_fragment_storage"):
        session._fragment_storage = MemoryFragmentStorage()


@functools.cache
def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None


def release_free_memory() -> bool:
    """Collect reference cycles, then return glibc's free heap pages to the system; True if
    glibc returned any."""
    gc.collect()
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


def reap_expired(runtime: Any) -> int:
    """Shut down every stored session whose reconnect time is over, then drop media no session
    refers to; returns how many sessions ended. Must run on the server's event loop (as
    Streamlit's session handling does).

    Streamlit deletes an orphaned download only on the second clean-up that finds it (the first
    marks it, so a download that is being fetched survives a rerun): one tick marks, the next
    deletes, so a visitor's downloads are gone at most two ticks after their session ended."""
    parts = _storage_parts(runtime)
    if parts is None:
        return 0
    cache, lock = parts
    with lock:
        keep_until_expiry(cache)
        expired = cache.expire()
    for _session_id, info in expired:
        info.session.shutdown()
        drop_session_data(info.session)
    runtime.media_file_mgr.remove_orphaned_files()
    if expired:
        release_free_memory()
        _log.info("shut down %d session(s) whose browser left more than the reconnect time ago", len(expired))
    return len(expired)


def _run(runtime: Any, stop: threading.Event) -> None:
    loop = runtime._get_async_objs().eventloop
    while not stop.wait(REAP_EVERY_S):
        if loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(reap_expired, runtime)
        except RuntimeError:  # the loop closed meanwhile: the server is stopping
            return


@st.cache_resource(show_spinner=False)
def start_session_reaper() -> threading.Event | None:
    """Start the reaper once per server process (cached); returns the event that stops it.
    Does nothing outside a running server (AppTest, bare `python`)."""
    from streamlit.runtime import Runtime

    if not Runtime.exists() or type(Runtime.instance()) is not Runtime:  # AppTest runs pages on a mock
        return None
    runtime = Runtime.instance()
    parts = _storage_parts(runtime)
    if parts is None:
        _log.warning("Streamlit's session storage has changed: sessions whose browser left are not shut "
                     "down when they expire, so their uploads and results stay in memory (ui/session_reaper.py)")
        return None
    cache, lock = parts
    with lock:
        if not keep_until_expiry(cache):
            _log.warning("Streamlit's session storage has changed: more than 128 sessions whose browser "
                         "left are forgotten without a shutdown (ui/session_reaper.py)")
    stop = threading.Event()
    threading.Thread(target=_run, args=(runtime, stop), name="fer-session-reaper", daemon=True).start()
    return stop
