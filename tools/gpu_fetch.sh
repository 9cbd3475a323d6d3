#!/usr/bin/env bash
# Brings runs trained on a lent GPU (tools/gpu_train.sh) into runs/ here, ready to `export`
# under TensorFlow or to resume (`train --resume` with the same line) if the call's limit
# stopped them.
#   tools/gpu_fetch.sh FILES_AT      (the folder the device tool copied $OUT's files into)
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:?usage: tools/gpu_fetch.sh FILES_AT}
RUNS=${RUNS_DIR:-runs}  # another folder only for tests
mkdir -p "$RUNS"
# an archive larger than the device returns came in numbered parts: join them first
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp "$src"/*.tar.gz "$work"/ 2>/dev/null || true
for first in "$src"/*.tar.gz.part00; do
  [ -e "$first" ] || continue
  base=${first%.part00}
  cat "$base".part* > "$work/$(basename "$base")"
done
for tar in "$work"/*.tar.gz; do
  [ -e "$tar" ] || { echo "no run archives in $src"; exit 1; }
  name=$(basename "$tar" .tar.gz)
  if [ -f "$RUNS/$name/train_config.json" ]; then echo "$name: $RUNS/$name already holds a finished run; not overwritten"; continue; fi
  tar -xzf "$tar" -C "$RUNS"
  if [ -f "$RUNS/$name/train_config.json" ]; then
    echo "$name: finished; next: KERAS_BACKEND=tensorflow .venv/bin/python -m fer_core export runs/$name --name $name --data ../shared/data/fer2013"
  else
    echo "$name: stopped by the call's limit; resume it on the GPU with the same line (carry runs/$name) or here with tools/train_cpu_zoo.sh"
  fi
done
