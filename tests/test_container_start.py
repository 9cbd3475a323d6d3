"""The app starts the way the container (and a Procfile platform) starts it, honours $PORT, and
answers Streamlit's health endpoint, which the Dockerfile's HEALTHCHECK polls.

The commands are read from the Dockerfile and Procfile themselves, so these tests break when
those files drift, not just when the app does. No Docker needed."""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.streamlit_server import ROOT, free_port, running, wait_healthy

DOCKERFILE = ROOT / "Dockerfile"
PROCFILE = ROOT / "Procfile"


def dockerfile_instructions(name: str) -> list[str]:
    """Every `NAME ...` instruction of the Dockerfile, in order, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    found = [line[len(name):].strip() for line in text.splitlines() if line.startswith(name + " ")]
    assert found, f"Dockerfile has no {name}"
    return found


def dockerfile_instruction(name: str) -> str:
    """The last `NAME ...` instruction of the Dockerfile (the final stage's)."""
    return dockerfile_instructions(name)[-1]


def platform_env(port: int) -> dict[str, str]:
    """PORT as a platform sets it, no display, and this venv's tools on PATH (an image has them
    on the system PATH). No PYTHONPATH: the app must import from its own folder."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("STREAMLIT_", "PYTHONPATH", "DISPLAY", "FER_"))}
    env["PORT"] = str(port)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def container_env(port: int) -> dict[str, str]:
    """platform_env plus the Dockerfile's ENV (its PORT default overridden, as `docker run -e`)."""
    env = platform_env(port)
    for key, value in re.findall(r"(\w+)=(\S+)", dockerfile_instruction("ENV")):
        # $NAME expands as Docker does (PATH=/opt/venv/bin:$PATH); the image's /opt/venv does
        # not exist here, and callers put their environment's bin first
        env[key] = re.sub(r"\$(\w+)", lambda m: env.get(m.group(1), ""), value)
    env["PORT"] = str(port)
    return env


def serves_the_app(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
        return r.status == 200 and b"<html" in r.read().lower()


def test_dockerfile_basics():
    text = DOCKERFILE.read_text()
    stages = dockerfile_instructions("FROM")
    assert stages == ["python:3.11-slim AS deps", "python:3.11-slim"], stages
    assert re.search(r"^USER (?!root)\w+", text, re.M), "the app must not run as root"
    # dependencies are built in their own stage from requirements.txt alone (a cached layer), by
    # the script that tests/test_app_only_install.py runs, and copied over before the code
    build = next(r for r in dockerfile_instructions("RUN") if "build_app_env.py" in r)
    assert build == "python /build/build_app_env.py /opt/venv /build/requirements.txt", build
    assert "COPY requirements.txt deploy/build_app_env.py /build/" in text
    assert text.index("COPY --from=deps /opt/venv /opt/venv") < text.index("COPY . .")
    assert "PATH=/opt/venv/bin:$PATH" in dockerfile_instruction("ENV")
    # ... and the package itself through its pyproject metadata, once the code is there
    assert text.index("COPY . .") < text.index("install --no-deps --no-compile -e .")
    assert "/_stcore/health" in dockerfile_instruction("HEALTHCHECK")
    assert "${PORT:-8501}" in dockerfile_instruction("CMD")
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".venv" in ignored and ".git" in ignored and not any(line.strip() == "models" for line in ignored)
    assert (ROOT / ".python-version").read_text().strip() == "3.11"


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule for the build context: the last matching line wins, `!` re-includes, and a
    line that matches a parent folder excludes what is inside it."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for line in patterns:
        negate, pattern = line.startswith("!"), line.lstrip("!")
        if any(fnmatch.fnmatch(c, pattern) for c in (candidates if not negate else [path])):
            ignored = not negate
    return ignored


def test_every_file_the_dockerfile_copies_is_in_the_build_context():
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert dockerignored("runs/x/checkpoint.keras", patterns)  # the matcher itself: folders and files
    assert dockerignored("deploy/Caddyfile", patterns) and not dockerignored("app.py", patterns)
    for copy in dockerfile_instructions("COPY"):
        if copy.startswith("--from="):
            continue
        *sources, _dest = copy.split()
        for source in sources:
            if source != ".":
                assert (ROOT / source).exists(), f"COPY {source}: no such file"
                assert not dockerignored(source, patterns), f"COPY {source}: excluded by .dockerignore"


def test_container_command_honours_port_and_passes_its_healthcheck(tmp_path):
    if not (ROOT / "app.py").exists():
        pytest.fail("app.py is missing: the container's command runs it")
    port = free_port()
    env = container_env(port)
    command = dockerfile_instruction("CMD")  # shell form, as Docker runs it: /bin/sh -c
    log = tmp_path / "container.log"
    with running(["/bin/sh", "-c", command], port, log, env) as server:
        assert wait_healthy(server, port, log) == (200, "ok")
        assert serves_the_app(port)
        # the image's own HEALTHCHECK command, run the way Docker runs it
        healthcheck = dockerfile_instruction("HEALTHCHECK")
        probe = healthcheck[healthcheck.index("CMD ") + 4:]
        result = subprocess.run(["/bin/sh", "-c", probe], env=env, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
    # and the same probe fails once nothing listens, so it can really mark a container unhealthy
    result = subprocess.run(["/bin/sh", "-c", probe], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0


def test_procfile_web_process_honours_port(tmp_path):
    if not (ROOT / "app.py").exists():
        pytest.fail("app.py is missing: the Procfile's web process runs it")
    lines = [line for line in PROCFILE.read_text().splitlines() if line.startswith("web:")]
    assert len(lines) == 1
    command = lines[0][len("web:"):].strip()
    assert shlex.split(command)[:3] == ["streamlit", "run", "app.py"] and "$PORT" in command
    port = free_port()
    log = tmp_path / "procfile.log"
    with running(["/bin/sh", "-c", command], port, log, platform_env(port)) as server:
        assert wait_healthy(server, port, log) == (200, "ok")
