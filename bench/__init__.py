"""Benchmarks: speed and accuracy measured on the machine they run on.

    python -m bench                 # the full suite -> bench/results/report.{json,md}
    python -m bench --quick         # a short smoke run (seconds, not minutes)
    python -m bench.detectors       # the face-detector comparison (detectors.{json,md})

Nothing here is imported by the app or by fer_core. Parts that need TensorFlow (the Keras
runtime, the `fer` package) run in subprocesses: TensorFlow next to aiortc in one process crashes.
"""
