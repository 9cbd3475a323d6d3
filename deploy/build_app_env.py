"""Build the serving environment: a virtual environment with the app's pinned dependencies and
nothing the app does not need at run time. The Dockerfile runs it, and so does the test of the
app-only install (tests/test_app_only_install.py), so what is tested is what the image holds.

    python deploy/build_app_env.py VENV [REQUIREMENTS]      (standard library only)

* The environment has no pip, setuptools or wheel: the pip of the interpreter running this script
  installs into it (`pip --python`, pip >= 22.3).
* Test suites inside packages (`tests/` folders: pandas alone ships 46 MB of them), C headers and
  Cython sources (for building extensions, never read at run time) are removed.
* Byte-code: pip compiles every module it installs, most of which the app never imports. All of
  it is removed, then the modules the server imports are imported once here, which writes their
  byte-code again; so the server starts as fast as with everything compiled (bench.tables.image_size
  measures both). Anything else compiles in memory when first imported.

Prints the environment's size before and after, per step, as one JSON line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

# What `streamlit run app.py` imports before its pages have answered a visitor (the pages' own
# imports, and the libraries under them). bench.tables.image_size reports how many of the modules the
# real server loads were compiled by this list.
SERVER_IMPORTS = (
    "streamlit", "streamlit.web.cli", "streamlit.web.bootstrap", "streamlit.web.server.server",
    "streamlit.runtime.scriptrunner", "streamlit.components.v1", "streamlit_webrtc", "aiortc",
    "av", "cv2", "numpy", "PIL.Image", "pandas", "pyarrow", "plotly.graph_objects",
    "plotly.subplots", "plotly.io", "ai_edge_litert.interpreter", "tqdm",
)
SOURCE_ONLY_SUFFIXES = (".h", ".hpp", ".pxd", ".pyx", ".pxi")


def tree_bytes(path: Path) -> int:
    total = 0
    for base, _dirs, files in os.walk(path):
        for name in files:
            p = os.path.join(base, name)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if len(found) != 1:
        raise SystemExit(f"expected one site-packages folder under {venv}, found {found}")
    return found[0]


def install(venv: Path, requirements: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # `-e .` (fer_core itself) needs the code, which the Dockerfile copies in a later layer
    pins = [line for line in requirements.read_text().splitlines() if not line.startswith("-e ")]
    pin_file = venv / "pins.txt"
    pin_file.write_text("\n".join(pins) + "\n")
    try:
        subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                        "--no-cache-dir", "--disable-pip-version-check", "-r", str(pin_file)], check=True)
    finally:
        pin_file.unlink()


def remove_test_suites(sp: Path) -> None:
    for top in sp.iterdir():  # only inside packages: a top-level `tests` would be a real package
        if top.is_dir():
            for tests in sorted(top.rglob("tests")):
                if tests.is_dir():
                    shutil.rmtree(tests, ignore_errors=True)


def remove_build_sources(sp: Path) -> None:
    for base, _dirs, files in os.walk(sp):
        for name in files:
            if name.endswith(SOURCE_ONLY_SUFFIXES):
                os.unlink(os.path.join(base, name))


def recompile_server_imports(venv: Path, sp: Path) -> None:
    for cache in sorted(sp.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    subprocess.run([str(venv / "bin" / "python"), "-c", code, *SERVER_IMPORTS], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # streamlit warns in bare mode


def main(argv: list[str]) -> None:
    if not 1 <= len(argv) <= 2:
        raise SystemExit(__doc__)
    venv = Path(argv[0])
    requirements = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "requirements.txt"
    install(venv, requirements)
    sp = site_packages(venv)
    sizes = {"installed": tree_bytes(venv)}
    remove_test_suites(sp)
    sizes["without test suites"] = tree_bytes(venv)
    remove_build_sources(sp)
    sizes["without headers and Cython sources"] = tree_bytes(venv)
    recompile_server_imports(venv, sp)
    sizes["byte-code for server imports only"] = tree_bytes(venv)
    print(json.dumps({"venv": str(venv), "bytes": sizes}))


if __name__ == "__main__":
    main(sys.argv[1:])
