#!/usr/bin/env bash
# Runs on a lent GPU machine (the device tool's `run`, in the repository root), after
# tools/gpu_pack.sh here. Installs the carried Keras wheels, unpacks the carried FER2013 tars
# into .gpu/data (kept between calls while the machine is warm), and trains every RUN given as
#   NAME="train options"     e.g.  gpu_w32_s0="--arch plain_vgg --width 32 --seed 0 --minutes 8"
# in parallel on the one GPU (these networks leave it mostly idle: a step is bound by Python
# dispatch, so several runs share it well), with the same `python -m fer_core train` command
# as on the CPU. Each finished run comes back as $OUT/NAME.tar.gz (best.keras and the run's
# records; no checkpoint), to unpack into runs/ here and `export` under TensorFlow.
#   tools/gpu_train.sh check                 # wheels, data, GPU: what is there
#   tools/gpu_train.sh speed                 # also one short epoch per backend: images/s
#   tools/gpu_train.sh RUN [RUN ...]         # needs both tars unpacked; at most 8 runs
# The runs time-slice the one GPU (separate processes do not overlap their kernels): on an H200
# under Keras-torch, six runs at once each got fewer epochs in 7.5 minutes than one 110-minute CPU
# run, so give a call one to three runs, not eight (docs/training.md).
# Every run must fit in the call: --minutes at most CALL_MINUTES - 1.5 (the call's 10-minute
# limit; a run stopped by the limit comes back with its checkpoint, to resume with the same line).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
OUT=${OUT:-/tmp/gpu_out}
CALL_MINUTES=${CALL_MINUTES:-9.5}
PART_BYTES=${PART_BYTES:-$((15 * 1024 * 1024))}  # smaller only for tests
G=${GPU_DIR:-.gpu}; RUNS=${RUNS_DIR:-runs}  # other folders only for tests
export KERAS_BACKEND=${KERAS_BACKEND:-torch} PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$RUNS" "$G/data"

if [ -z "${GPU_SKIP_WHEELS:-}" ]; then  # a rehearsal on this CPU uses the venv's Keras instead
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$G"/wheels/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
for tar in "$G"/train_*.tar.gz; do
  [ -e "$tar" ] || continue
  part=${tar##*/train_}; part=${part%.tar.gz}
  [ -f "$G/data/MANIFEST_$part" ] || tar -xzf "$tar" -C "$G/data"
done
missing=0
for part in a b; do
  if [ ! -f "$G/data/MANIFEST_$part" ]; then echo "part $part of the data is not here"; missing=1; continue; fi
  absent=$(cd "$G/data" && while read -r f; do [ -f "$f" ] || echo "$f"; done < "MANIFEST_$part" | wc -l)
  echo "part $part: $(wc -l < "$G/data/MANIFEST_$part") images listed, $absent absent"
  [ "$absent" = 0 ] || missing=1
done
"$PY" -c "import fer_core.training.train as t; print(t.hardware_description())"

if [ "${1:-check}" = check ]; then exit 0; fi
if [ "$1" = speed ]; then
  # one short epoch of the default's network per Keras backend on the data that is here (half is
  # enough), to choose the backend and the number of runs a call gets before spending the GPU on it
  for backend in ${SPEED_BACKENDS:-torch jax}; do
    rm -rf "$RUNS/speed_$backend"
    KERAS_BACKEND=$backend timeout 120 "$PY" -m fer_core train --data "$G/data/$(head -n 1 "$G/data/MANIFEST_a" | cut -d/ -f1)" \
      --out "$RUNS/speed_$backend" --arch plain_vgg --width "${SPEED_WIDTH:-24}" --epochs 2 --limit "${SPEED_LIMIT:-8192}" \
      > "$RUNS/speed_$backend.log" 2>&1 || echo "$backend: failed or too slow (see $RUNS/speed_$backend.log)"
    # the second epoch: the first one includes compilation
    "$PY" - "$RUNS/speed_$backend/history.csv" "$backend" <<'PYEOF' || true
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"{sys.argv[2]}: {float(rows[-1]['images_per_s']):.0f} images/s in epoch {len(rows)} ({rows[-1]['epoch_seconds']} s)")
PYEOF
  done
  exit 0
fi
if [ "$missing" != 0 ]; then echo "the data is incomplete: carry $G/train_a.tar.gz and $G/train_b.tar.gz first"; exit 2; fi

if [ $# -gt 8 ]; then echo "at most 8 runs per call: the device returns at most 8 files"; exit 2; fi
threads=$(( $(nproc) / $# )); [ "$threads" -ge 1 ] || threads=1
pids=()
for run in "$@"; do
  name=${run%%=*}; opts=${run#*=}
  mkdir -p "$RUNS/$name"
  # cached teacher probabilities (tools/gpu_pack.sh GPU_TEACHER): the device cannot run the teacher
  for probs in "$G"/teacher/teacher_probs_*.npy; do
    if [ -e "$probs" ]; then cp -n "$probs" "$RUNS/$name/"; fi
  done
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=$threads timeout --signal=INT "$(awk "BEGIN {print int(($CALL_MINUTES - 0.5) * 60)}")" \
    "$PY" -m fer_core train --data "$G/data/$(head -n 1 "$G/data/MANIFEST_a" | cut -d/ -f1)" --out "$RUNS/$name" --resume $opts \
    > "$RUNS/$name.log" 2>&1 &
  pids+=($!)
  sleep 2  # stagger the dataset decoding
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for run in "$@"; do
  name=${run%%=*}
  cp "$RUNS/$name.log" "$RUNS/$name/train.log"
  if [ -f "$RUNS/$name/train_config.json" ]; then  # finished: the checkpoint is not needed
    tar -czf "$OUT/$name.tar.gz" -C "$RUNS" --exclude checkpoint.keras "$name"
  else
    tar -czf "$OUT/$name.tar.gz" -C "$RUNS" "$name"
  fi
  # the device returns files of at most 16 MiB: a larger archive (a stopped run carries its
  # checkpoint beside best.keras) comes back in parts that tools/gpu_fetch.sh joins
  if [ "$(stat -c %s "$OUT/$name.tar.gz")" -gt "$PART_BYTES" ]; then
    split -b "$PART_BYTES" -d "$OUT/$name.tar.gz" "$OUT/$name.tar.gz.part"
    rm "$OUT/$name.tar.gz"
  fi
  echo "$name: $(tail -n 2 "$RUNS/$name.log" | tr '\n' ' ')"
done
ls -l "$OUT"
files=$(find "$OUT" -maxdepth 1 -type f | wc -l); bytes=$(du -cb "$OUT"/* | tail -n 1 | cut -f1)
if [ "$files" -gt 8 ] || [ "$bytes" -gt $((64 * 1024 * 1024)) ]; then
  echo "WARNING: $files files, $bytes bytes: more than the device returns (8 files, 64 MiB); fetch the rest" \
       "in the next call (the machine keeps $RUNS while warm): tar what is missing into \$OUT"
fi
exit $status
