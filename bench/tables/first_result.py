"""Fresh-process probe for cold start: import fer_core, load the default model and detector,
analyse one frame, record when the first result existed and the process's peak memory.

    python -m bench.tables.first_result INPUTS.npz OUT.json

The parent notes the wall clock before it spawns this process, so interpreter start-up counts.
bench.tables.fer_worker does the same for the `fer` package, reading the same INPUTS.npz.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


def main(argv: list[str]) -> int:
    inputs_path, out_path = argv
    frame = np.load(inputs_path)["frame0"]
    t0 = time.perf_counter()
    from fer_core.detection import create_detector
    from fer_core.drawing import draw_faces
    from fer_core.model_zoo import default_model_name, load_model
    from fer_core.pipeline import FaceAnalyzer

    imported = time.perf_counter()
    analyzer = FaceAnalyzer(create_detector(), load_model())
    loaded = time.perf_counter()
    faces = analyzer.analyze(frame)
    draw_faces(frame, faces)
    done = time.perf_counter()
    first_result_at = time.time()
    from bench.common.stats import self_peak_rss_mib

    Path(out_path).write_text(json.dumps({
        "first_result_unix": first_result_at,
        "model": default_model_name(),
        "import_s": round(imported - t0, 3),
        "load_s": round(loaded - imported, 3),
        "first_frame_s": round(done - loaded, 3),
        "faces": len(faces),
        "peak_rss_mib": self_peak_rss_mib(),
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
