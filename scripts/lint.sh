#!/usr/bin/env bash
# ruff (lint) and mypy (types of fer_core, ui/, pages/ and app.py), both configured in pyproject.toml. Uses .venv (or $VENV).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${VENV:-.venv}/bin/python
"$PY" -m ruff check .
"$PY" -m mypy
