"""Subprocess for bench.studies.photo_settings: labelled photos through the `fer` package's default
`FER()` (Haar cascade + its 64x64 model), the largest face per photo. It imports TensorFlow, so
it never runs inside the main process.

    python -m bench.studies.fer_photos_worker < paths.txt        # one photo path a line on stdin

Prints one JSON object to stdout: the package version and, per input line in order, the index
of the largest face's top emotion in fer_core's EMOTIONS order, or -1 where no face was found.
Nothing is written to disk.
"""

from __future__ import annotations

import json
import logging
import os
import sys

import cv2

from bench.common.fer_package import provide_pkg_resources
from fer_core.labels import EMOTIONS


def main() -> int:
    paths = [line.strip() for line in sys.stdin if line.strip()]
    provide_pkg_resources()
    import fer
    from fer.fer import FER

    logging.getLogger("fer").setLevel(logging.WARNING)
    detector = FER()  # the package's defaults, as a user would call it
    answers = []
    for path in paths:
        faces = detector.detect_emotions(cv2.imread(path)) if os.path.isfile(path) else []
        if not faces:
            answers.append(-1)
            continue
        face = max(faces, key=lambda f: f["box"][2] * f["box"][3])
        scores = face["emotions"]
        answers.append(EMOTIONS.index(max(EMOTIONS, key=lambda e: scores.get(e, 0.0))))
    print(json.dumps({"version": fer.__version__, "answers": answers}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
