#!/usr/bin/env bash
# Install everything (app, training, test tools) into .venv and run the whole test suite.
# Extra arguments go to pytest, e.g. scripts/test.sh -k pipeline
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh dev
exec "${VENV:-.venv}/bin/python" -m pytest "$@"
