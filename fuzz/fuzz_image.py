"""Fuzz image decoding: whatever the bytes, `load_image` returns an RGB uint8 array or raises
`ImageLoadError`; anything else (another exception, a hang, a memory blow-up) is a finding.

    python -m fuzz.fuzz_image CORPUS_DIR -runs=1000000 -timeout=10 -rss_limit_mb=2048 [libFuzzer flags]

With no corpus folder given, the seeds of fuzz/seeds.py are written to a temporary one.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["PIL", "fer_core"]):
    from fer_core.image_io import ImageLoadError, load_image

MAX_PIXELS = 4_000_000  # bombs must be refused before decoding; keeps each input fast


def test_one_input(data: bytes) -> None:
    try:
        image = load_image(data, max_pixels=MAX_PIXELS)
    except ImageLoadError:
        return
    assert image.dtype.name == "uint8" and image.ndim == 3 and image.shape[2] == 3, image.shape
    assert image.shape[0] * image.shape[1] <= MAX_PIXELS


def main(argv: list[str]) -> None:
    from fuzz.seeds import image_seeds, write

    args = list(argv)
    folders = [a for a in args[1:] if not a.startswith("-")]
    if not folders:
        args.append(str(write(Path(tempfile.mkdtemp(prefix="fuzz_image_")), image_seeds())))
    elif not Path(folders[0]).is_dir() or not any(Path(folders[0]).iterdir()):
        write(Path(folders[0]), image_seeds())  # a new corpus starts from the seeds
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
