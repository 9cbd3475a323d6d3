"""What more than one benchmark group uses: the repository root and bench/results/, the inputs
(real-photo set, frames built from it, FER2013), detection scoring, timing statistics, the
machine description every report states, and running a module in a fresh process."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
RESULTS_DIR = ROOT / "bench" / "results"  # every benchmark's JSON and Markdown (docs read them)
