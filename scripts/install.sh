#!/usr/bin/env bash
# Create (or reuse) a virtual environment and install one of the requirement sets into it, then
# fer_core itself (editable, through pyproject.toml: the `fer-core` command and its metadata).
#   scripts/install.sh app|train|dev      (VENV=path to choose where; default .venv)
#   FER_WITH_TORCH=1 scripts/install.sh dev   also installs PyTorch (requirements-torch.txt), the
#                                             fastest training backend on CPU; opt-in, it is large
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
if [ "${1:-app}" = dev ]; then
  # the benchmark's comparison target, `fer`, installs without its dependencies (see bench/requirements.txt)
  "$VENV/bin/python" -m pip install -q --no-deps -r bench/requirements.txt
  [ "${FER_WITH_TORCH:-0}" = 1 ] && "$VENV/bin/python" -m pip install -q -r requirements-torch.txt
fi
exit 0
