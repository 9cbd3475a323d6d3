"""Benchmarks: speed and accuracy measured on the machine they run on.

    python -m bench                          # the full suite -> bench/results/report.{json,md}
    python -m bench --quick                  # a short smoke run (seconds, not minutes)
    python -m bench.studies.detectors        # the face-detector comparison (detectors.{json,md})

Layout, by purpose (each runnable module says in its docstring how to run it):

    __main__.py   `python -m bench`: runs the parts in tables/ and writes report.{json,md}
    tables/       what fills the measured tables in README.md and docs/: app_start (+ its
                  subprocess first_result), classify_speed (+ keras_worker), pipeline_speed,
                  webcam, fer_compare (+ fer_worker), report (the suite's Markdown), fer_floor,
                  image_size, install_cost, train_speed, screenshots (docs/img)
    capacity/     many visitors against one `streamlit run` server: load, soak (+ soak_probe/,
                  loaded into the server), rtc_visitor (aiortc visitors), live_profile
    studies/      one-off measurements behind tuned constants: detectors (the default detector),
                  framing and photo_settings (the face crop; + fer_photos_worker)
    common/       what more than one of those groups uses: ROOT and RESULTS_DIR, fer2013,
                  photo_set, frames, scoring (detections against hand boxes), stats, probe (a
                  module in a fresh process), machine (the machine line of every report),
                  fer_package (the `fer` package in a worker)
    results/      every benchmark's JSON and Markdown; tools/update_readme.py copies the Markdown
                  into README.md and docs/
    requirements.txt  the `fer` package and the profiler (pip install --no-deps -r ...)

The shared modules live in common/, not at the top level, so that the top level holds only the
entry point and the three groups, and `bench.common.x` says at every import that x belongs to no
one benchmark. The groups import common/, never each other.

The browser and Streamlit harness that both the tests and the benchmarks drive the app with lives
with the test helpers, tests/helpers/browser.py and tests/helpers/streamlit_server.py: most of
its users are tests, and bench/ already imported the server helper from there.

Nothing here is imported by the app or by fer_core. Parts that need TensorFlow (the Keras
runtime, the `fer` package) run in subprocesses: TensorFlow next to aiortc in one process crashes.
"""
