"""Run a fuzz harness for a number of inputs and write what libFuzzer reported.

    python -m fuzz.report image --runs 1000000      # or: video --runs 20000

Runs `python -m fuzz.fuzz_<target>` on a fresh corpus grown from fuzz/seeds.py, with a time limit
per input and a memory limit, and -print_final_stats=1; parses its final statistics (inputs run,
inputs per second, peak memory, coverage) and whether it stopped on a finding (a crash, an
exception other than our typed errors, a timeout or running out of memory: libFuzzer then
writes the input as crash-*/timeout-*/oom-* in the working folder). Writes
bench/results/fuzz_<target>.json and .md (README section `fuzz`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fuzz import seeds

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LIMITS = {"image": {"timeout": 10, "rss_limit_mb": 2048}, "video": {"timeout": 20, "rss_limit_mb": 2048}}


def parse(log: str) -> dict[str, float | int | None]:
    stats = {k: int(v) for k, v in re.findall(r"stat::(\w+):\s+(\d+)", log)}
    cov = re.findall(r"cov: (\d+) ft: (\d+)", log)
    done = re.search(r"Done (\d+) runs in (\d+) second", log)
    return {
        "inputs_run": stats.get("number_of_executed_units", int(done[1]) if done else None),
        "inputs_per_second": stats.get("average_exec_per_sec"),
        "peak_rss_mb": stats.get("peak_rss_mb"),
        "seconds": int(done[2]) if done else None,
        "coverage_edges": int(cov[-1][0]) if cov else None,
        "coverage_features": int(cov[-1][1]) if cov else None,
    }


def markdown(report: dict) -> str:
    s = {k: ("?" if v is None else v) for k, v in report["stats"].items()}
    outcome = ("no finding: every input ended in a decoded image or our typed error, within the time "
               "and memory limits" if report["findings"] == [] and report["returncode"] == 0
               else f"stopped on a finding (exit {report['returncode']}): {', '.join(report['findings']) or 'see log'}")
    return (f"`python -m fuzz.report {report['target']} --runs {report['runs']}`: "
            f"{s['inputs_run']:,} inputs in {report['wall_seconds']:,} s of wall time (1 process, on a 2-core "
            f"machine shared with other work), {s['coverage_edges']} coverage edges / {s['coverage_features']} features "
            f"reached in the instrumented Python code (Pillow's and ours; the C decoders under them are not "
            f"instrumented), peak memory {s['peak_rss_mb']} MB; limits {report['limits']['timeout']} s per input and "
            f"{report['limits']['rss_limit_mb']} MB; {outcome}. Run {report['date']}.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.report", description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=sorted(LIMITS))
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    limits = LIMITS[args.target]
    with tempfile.TemporaryDirectory(prefix="fer-fuzz-") as tmp:
        corpus = seeds.write(Path(tmp) / "corpus", seeds.image_seeds() if args.target == "image" else seeds.video_seeds())
        t0 = time.time()
        done = subprocess.run(
            [sys.executable, "-m", f"fuzz.fuzz_{args.target}", str(corpus), f"-runs={args.runs}",
             f"-timeout={limits['timeout']}", f"-rss_limit_mb={limits['rss_limit_mb']}", "-print_final_stats=1"],
            cwd=tmp, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        findings = sorted(p.name for p in Path(tmp).iterdir() if re.match(r"(crash|timeout|oom|leak)-", p.name))
        log = done.stdout + done.stderr
    report = {"target": args.target, "runs": args.runs, "limits": limits, "returncode": done.returncode,
              "findings": findings, "wall_seconds": round(time.time() - t0), "date": time.strftime("%Y-%m-%d"),
              "stats": parse(log), "log_tail": log[-3000:]}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"fuzz_{args.target}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / f"fuzz_{args.target}.md").write_text(markdown(report) + "\n")
    print(markdown(report))
    return 0 if done.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
