#!/usr/bin/env bash
# Create (or reuse) a virtual environment and install one of the requirement sets into it.
#   scripts/install.sh app|train|dev      (VENV=path to choose where; default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
case "${1:-app}" in
  app) req=requirements.txt ;;
  train) req=requirements-train.txt ;;
  dev) req=requirements-dev.txt ;;
  *) echo "usage: scripts/install.sh app|train|dev" >&2; exit 2 ;;
esac
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -r "$req"
"$VENV/bin/python" -m pip install -q --no-deps -r requirements-nodeps.txt
# the benchmark's comparison target, `fer`, installs without its dependencies (see bench/requirements.txt)
[ "${1:-app}" = dev ] && "$VENV/bin/python" -m pip install -q --no-deps -r bench/requirements.txt
exit 0
