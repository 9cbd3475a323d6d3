#!/usr/bin/env bash
# ruff (lint) and mypy (types of fer_core, ui/, pages/ and app.py), both configured in pyproject.toml, and the
# documentation site (mkdocs.yml) built with --strict, so a broken link or page fails CI. Uses .venv (or $VENV).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${VENV:-.venv}/bin/python
"$PY" -m ruff check .
"$PY" -m mypy
site=$(mktemp -d)
"$PY" -m mkdocs build --strict --quiet --site-dir "$site"
rm -rf "$site"
