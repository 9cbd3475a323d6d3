"""Short, fixed-seed runs of the coverage-guided fuzzers (fuzz/): any exception other than our
typed load errors, a hang past the per-input time limit or a memory blow-up fails the run.
The long runs are documented in the README (Tests, CI and benchmarks)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("harness, runs", [("fuzz_image", 2000), ("fuzz_video", 200)])
def test_a_short_fixed_seed_fuzz_run_finds_nothing(harness: str, runs: int, tmp_path: Path) -> None:
    if importlib.util.find_spec("atheris") is None:
        pytest.skip("atheris is in requirements-dev.txt (Linux wheels)")
    done = subprocess.run(
        [sys.executable, "-m", f"fuzz.{harness}", str(tmp_path / "corpus"), f"-runs={runs}", "-seed=1",
         "-timeout=20", "-rss_limit_mb=2048", f"-artifact_prefix={tmp_path}/"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    report = done.stderr[-4000:]
    assert done.returncode == 0, report
    assert f"Done {runs} runs" in done.stderr, report
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*")), report
