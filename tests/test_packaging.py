"""fer_core as an installable package: the pinned requirement files agree with pyproject.toml, the
wheel carries the models and detector weights, and in a fresh virtual environment outside the
checkout `fer-core predict` and the README's Python example work as a new user would run them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement
from PIL import Image

from fer_core.model_zoo import read_index

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
REQUIREMENT_FILES = {  # pinned file -> the pyproject extras it must satisfy
    "requirements.txt": ("app",),
    "requirements-train.txt": ("app", "train"),
    "requirements-dev.txt": ("app", "train", "dev"),
}


def pinned(name: str) -> dict[str, str]:
    """name -> exact version, following -r includes; the `-e .` line is the package itself."""
    pins: dict[str, str] = {}
    for raw in (ROOT / name).read_text(encoding="utf-8").splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#") or line.startswith("-e "):
            continue
        if line.startswith("-r "):
            pins.update(pinned(line[3:].strip()))
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"{name}: {line} is not an exact pin"
        pins[req.name.lower()] = spec.version
    return pins


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    """The base dependencies plus the extras', self-references expanded, for this platform."""
    project = PYPROJECT["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for r in map(Requirement, project["optional-dependencies"][extra]):
            if r.name == project["name"]:
                todo.extend(r.extras)
            else:
                reqs.append(r)
    return [r for r in reqs if r.marker is None or r.marker.evaluate()]


@pytest.mark.parametrize("name", sorted(REQUIREMENT_FILES))
def test_pinned_requirements_satisfy_the_package_metadata(name: str) -> None:
    pins = pinned(name)
    for req in declared(REQUIREMENT_FILES[name]):
        assert req.name.lower() in pins, f"{name} lacks {req} (pyproject.toml asks for it)"
        assert req.specifier.contains(pins[req.name.lower()]), f"{name} pins {req.name}=={pins[req.name.lower()]}, outside {req}"
    assert "-e ." in (ROOT / "requirements.txt").read_text(encoding="utf-8"), "the app installs fer_core itself"


def test_every_declared_dependency_is_pinned_and_nothing_else_is_slipped_in() -> None:
    names = {r.name.lower() for r in declared(("app", "train", "dev"))}
    extra_pins = set(pinned("requirements-dev.txt")) - names
    assert not extra_pins, f"pinned but not declared in pyproject.toml: {sorted(extra_pins)}"
    assert "torch" not in pinned("requirements-dev.txt"), "PyTorch is opt-in (requirements-torch.txt)"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of what the wheel needs, so stale build/ folders in the checkout cannot
    leak into it (and the copy proves that these files suffice)."""
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "fer_core", src / "fer_core", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "models", src / "models", ignore=shutil.ignore_patterns("*.keras"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = out.glob("fer_core-*.whl")
    return path


def test_the_wheel_carries_the_shipped_models_and_detector_weights_but_no_training_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    index = read_index()
    for model, entry in index["models"].items():
        for member in entry.get("members", []) or [model]:
            assert f"fer_core/_models/{member}/model.tflite" in names, member
    assert "fer_core/_models/index.json" in names and "fer_core/py.typed" in names
    assert "fer_core/live/sizing.json" in names  # FER_MAX_STREAMS' measured default
    for weights in ("face_detection_short_range.tflite", "face_detection_full_range.tflite",
                    "haarcascade_frontalface_default.xml", "LICENSE-Apache-2.0.txt", "README.md"):
        assert f"fer_core/detection/weights/{weights}" in names
    assert not [n for n in names if n.endswith(".keras") or n.startswith(("tests/", "pages/", "ui/", "bench/"))]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "fer-core = fer_core.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def readme_python_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use it from Python", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    return code


@pytest.fixture(scope="module")
def fresh_install(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A new venv with only the wheel (and its dependencies, at the pinned versions), and a work
    folder outside the checkout holding photo.jpg."""
    home = tmp_path_factory.mktemp("fresh")
    env_dir = home / "venv"
    venv.create(env_dir, with_pip=True)
    pins = home / "constraints.txt"
    pins.write_text("\n".join(f"{k}=={v}" for k, v in pinned("requirements.txt").items()) + "\n")
    done = subprocess.run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", "-c", str(pins), str(wheel)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    work = home / "work"
    work.mkdir()
    from skimage import data  # an image an installed package ships: NASA's astronaut portrait

    Image.fromarray(np.asarray(data.astronaut())).save(work / "photo.jpg", quality=92)
    return env_dir, work


def run_outside(env_dir: Path, work: Path, *cmd: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FER_MODELS_DIR", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}"
    return subprocess.run(list(cmd), cwd=work, env=env, capture_output=True, text=True, timeout=300)


def test_fer_core_predict_from_the_wheel_outside_the_checkout(fresh_install: tuple[Path, Path]) -> None:
    env_dir, work = fresh_install
    done = run_outside(env_dir, work, "fer-core", "predict", "photo.jpg")
    assert done.returncode == 0, done.stderr
    assert re.search(r"#1 (angry|disgust|fear|happy|sad|surprise|neutral) \d+%", done.stdout), done.stdout
    where = run_outside(env_dir, work, "python", "-c", "import fer_core, fer_core.model_zoo as z; "
                        "print(fer_core.__file__); print(z.models_dir())")
    module, models = where.stdout.split()
    assert module.startswith(str(env_dir)) and models.startswith(str(env_dir)), where.stdout


def test_the_readme_python_example_runs_as_written_from_the_wheel(fresh_install: tuple[Path, Path]) -> None:
    env_dir, work = fresh_install
    (work / "example.py").write_text(readme_python_example())
    done = run_outside(env_dir, work, "python", "example.py")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert re.fullmatch(r"1 (angry|disgust|fear|happy|sad|surprise|neutral) \d+% \(\d+, \d+, \d+, \d+\)", first), done.stdout
    assert "'happy':" in done.stdout  # the probability dict of the first face


def test_no_keras_or_tensorflow_is_needed_by_the_installed_library(fresh_install: tuple[Path, Path]) -> None:
    env_dir, work = fresh_install
    done = run_outside(env_dir, work, "python", "-c", "import importlib.util as u; "
                       "print([m for m in ('keras', 'tensorflow', 'streamlit', 'torch') if u.find_spec(m)])")
    assert done.stdout.strip() == "[]", done.stdout
