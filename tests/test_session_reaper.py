"""ui/session_reaper.py against Streamlit's own session storage class, without a server: expired
sessions are shut down and taken out, live ones are left alone, media clean-up runs every tick.
(The running app is covered by tests/test_privacy.py.)"""

from __future__ import annotations

import threading
from types import SimpleNamespace

from streamlit.runtime.memory_session_storage import MemorySessionStorage
from streamlit.runtime.state.session_state import SessionState

from ui.session_reaper import reap_expired, release_free_memory


class FakeSession:
    def __init__(self, session_id: str) -> None:
        self.id, self.shut_down = session_id, False
        self._session_state = SessionState()
        self._session_state["processor"] = object()  # what a page keeps for its visitor

    def shutdown(self) -> None:
        self.shut_down = True


def fake_runtime(storage: MemorySessionStorage) -> SimpleNamespace:
    cleanups: list[int] = []
    media = SimpleNamespace(remove_orphaned_files=lambda: cleanups.append(1))
    manager = SimpleNamespace(_session_storage=storage, _storage_lock=threading.Lock())
    return SimpleNamespace(_session_mgr=manager, media_file_mgr=media, cleanups=cleanups)


def test_expired_sessions_are_shut_down_and_removed_live_ones_kept() -> None:
    clock = [0.0]
    storage = MemorySessionStorage(ttl_seconds=120)
    storage._cache._timer = lambda: clock[0]  # Streamlit's TTLCache reads its clock here
    gone, kept = FakeSession("gone"), FakeSession("kept")
    storage.save(SimpleNamespace(session=gone))
    clock[0] = 100.0
    storage.save(SimpleNamespace(session=kept))
    runtime = fake_runtime(storage)

    assert reap_expired(runtime) == 0 and not gone.shut_down  # nothing over its time yet
    clock[0] = 121.0
    assert reap_expired(runtime) == 1
    assert gone.shut_down and not kept.shut_down
    # a reference Streamlit keeps to a shut-down session holds nothing of its visitor
    assert len(gone._session_state) == 0 and "processor" in kept._session_state
    assert [info.session.id for info in storage.list()] == ["kept"]
    assert len(runtime.cleanups) == 2  # orphaned media checked on every tick


def test_a_moved_storage_is_left_alone() -> None:
    runtime = SimpleNamespace(_session_mgr=SimpleNamespace(), media_file_mgr=None)
    assert reap_expired(runtime) == 0


def test_more_sessions_than_the_storage_limit_all_wait_for_expiry_and_are_shut_down() -> None:
    # Streamlit's storage keeps 128 and silently forgets the least recently used one beyond that
    clock = [0.0]
    storage = MemorySessionStorage(ttl_seconds=120)
    storage._cache._timer = lambda: clock[0]
    runtime = fake_runtime(storage)
    reap_expired(runtime)  # the reaper's first tick lifts the limit
    sessions = [FakeSession(f"s{i}") for i in range(200)]
    for session in sessions:
        storage.save(SimpleNamespace(session=session))
    assert len(storage.list()) == 200  # none forgotten
    clock[0] = 121.0
    assert reap_expired(runtime) == 200
    assert all(s.shut_down for s in sessions) and storage.list() == []


def test_without_the_reaper_streamlit_forgets_sessions_beyond_its_limit() -> None:
    # the control: what keep_until_expiry guards against (fails once Streamlit changes it)
    storage = MemorySessionStorage(ttl_seconds=120)
    for i in range(200):
        storage.save(SimpleNamespace(session=FakeSession(f"s{i}")))
    assert len(storage.list()) == 128


def test_releasing_free_memory_runs_where_glibc_is_and_is_harmless_elsewhere() -> None:
    import platform

    blocks = [bytearray(1 << 16) for _ in range(2000)]  # 128 MiB in heap-sized blocks
    pin = bytearray(1 << 10)  # above them, so that freeing them cannot shrink the heap by itself
    del blocks
    released = release_free_memory()
    del pin
    assert isinstance(released, bool)
    if platform.libc_ver()[0] == "glibc":
        assert released
