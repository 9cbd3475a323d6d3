"""Start the app with `streamlit run` in a subprocess on a free port, for the browser and
container tests and the benchmarks that drive the app (bench.capacity, bench.tables.screenshots),
and stop it again (killing only the process it started)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(port: int, timeout: float = 2.0) -> tuple[int, str] | None:
    """(status, body) of GET /_stcore/health, or None while nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=timeout) as r:
            return r.status, r.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def wait_healthy(proc: subprocess.Popen, port: int, log: Path, timeout: float = STARTUP_TIMEOUT_S) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        answer = health(port)
        if answer is not None:
            return answer
        time.sleep(0.5)
    raise TimeoutError(f"streamlit did not answer on port {port} in {timeout:.0f}s:\n{log.read_text()[-3000:]}")


def streamlit_command(port: int, script: str | Path = ROOT / "app.py") -> list[str]:
    """`streamlit run SCRIPT` on 127.0.0.1:PORT with this interpreter."""
    return [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
            "--server.address", "127.0.0.1"]


def streamlit_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test environment for the app: the repo importable, no telemetry, no browser."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
           "STREAMLIT_SERVER_HEADLESS": "true", "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


@contextlib.contextmanager
def running(command: Sequence[str] | str, port: int, log: Path, env: Mapping[str, str],
            *, shell: bool = False) -> Iterator[subprocess.Popen]:
    """Run the server until the block ends; its output goes to `log` (shown on failures)."""
    with open(log, "w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
                                shell=shell, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            # the server's own process group (shell=True puts streamlit under a shell)
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
