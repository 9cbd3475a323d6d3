"""Fuzz video decoding: whatever the bytes, `process_video` returns a result or raises
`VideoLoadError`. Detection and classification are stubs (this fuzzes decoding, not the model).

    python -m fuzz.fuzz_video CORPUS_DIR -runs=20000 -timeout=20 -rss_limit_mb=2048
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris
import numpy as np

with atheris.instrument_imports(include=["fer_core"]):
    from fer_core.detection.base import Detection
    from fer_core.pipeline import FaceAnalyzer
    from fer_core.video import VideoLimits, VideoLoadError, process_video


class _NoFaces:
    name = "none"

    def detect(self, image: np.ndarray) -> list[Detection]:
        return []


class _Uniform:
    name = "uniform"

    def predict(self, faces: np.ndarray) -> np.ndarray:
        return np.full((len(faces), 7), 1 / 7, np.float32)


ANALYZER = FaceAnalyzer(_NoFaces(), _Uniform())
LIMITS = VideoLimits(max_seconds=2.0, max_fps=5.0)


def test_one_input(data: bytes) -> None:
    try:
        process_video(data, ANALYZER, limits=LIMITS)
    except VideoLoadError:
        return


def main(argv: list[str]) -> None:
    from fuzz.seeds import video_seeds, write

    args = list(argv)
    folders = [a for a in args[1:] if not a.startswith("-")]
    if not folders:
        args.append(str(write(Path(tempfile.mkdtemp(prefix="fuzz_video_")), video_seeds())))
    elif not Path(folders[0]).is_dir() or not any(Path(folders[0]).iterdir()):
        write(Path(folders[0]), video_seeds())  # a new corpus starts from the seeds
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
