"""The `fer` package's accuracy on FER2013 PublicTest: the floor the default must keep.

    python -m bench.tables.fer_floor            -> bench/results/fer_floor.json

The default is chosen for agreement with people (the FER+ majority), but it must not fall behind
the package people use today on FER2013's own labels. The choice may only look at PublicTest, so
the floor is `fer`'s PublicTest accuracy, measured here on the same 48x48 faces our models are
selected on (the classifier alone, as `python -m bench` compares accuracy), and read by
`python -m fer_core select-default --fer2013-floor bench/results/fer_floor.json`. The file also
holds `fer`'s agreement with the FER+ majority on PublicTest, for reference.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.common import RESULTS_DIR
from bench.common.fer2013 import accuracy, agreement, fer2013_root, load_test_split
from bench.common.probe import run_module
from bench.tables.fer_compare import FER_PIN, fer_installed

OUT = RESULTS_DIR / "fer_floor.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tables.fer_floor", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if not fer_installed():
        print(f"error: the fer package is not installed (pip install --no-deps -r bench/requirements.txt; {FER_PIN})",
              file=sys.stderr)
        return 1
    faces = load_test_split("PublicTest")
    if faces is None:
        print(f"error: no FER2013 PublicTest images under {fer2013_root() / 'test'}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="fer_floor_") as tmp:  # the faces never leave this run
        faces_file, out = Path(tmp) / "faces.npy", Path(tmp) / "fer.json"
        np.save(faces_file, faces.images)
        probe = run_module("bench.tables.fer_worker", ["--classify", str(faces_file), str(out)], out, timeout_s=900)
    if probe.data is None:
        print(f"error: the fer package failed: {probe.error}", file=sys.stderr)
        return 1
    predicted = np.asarray(probe.data["predictions"])
    record = {
        "source": f"the fer package {probe.data['version']}",
        "publictest_accuracy": accuracy(predicted, faces.labels),
        "publictest_ferplus_accuracy": agreement(predicted, faces),
        "faces": int(len(faces.labels)),
        "dataset": faces.description,
        "written_by": "python -m bench.tables.fer_floor",
        "date": dt.date.today().isoformat(),
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
