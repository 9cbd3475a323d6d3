#!/usr/bin/env bash
# Install the app into .venv and start it on http://localhost:${PORT:-8501}.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh app
exec "${VENV:-.venv}/bin/streamlit" run app.py --server.port "${PORT:-8501}"
