#!/usr/bin/env bash
# The CPU recipe the shipped models were trained with (2 shared cores, no GPU, one 3-hour
# session): each architecture gets an epoch count that fits its wall-clock budget, so the
# cosine schedule anneals fully, and --max-minutes as a safety stop. These budgets are far
# below what the architectures need (see the model cards); a GPU run should use the defaults
# (60 epochs, patience 15): see README, "Retraining". Then, for each run:
#   python -m fer_core export runs/NAME --name NAME --data DATA; python -m fer_core select-default
set -euo pipefail
DATA=${1:-../shared/data/fer2013}
PY=${PY:-python}
run() { "$PY" -m fer_core train --data "$DATA" --batch-size 128 --seed 0 "$@"; }
run --arch vgg_bn --width 16 --epochs 12 --max-minutes 45 --out runs/vgg_bn
run --arch baseline_cnn --epochs 3 --max-minutes 14 --out runs/baseline_cnn
run --arch dcnn --width 32 --epochs 2 --max-minutes 18 --out runs/dcnn
# mini_xception learned fastest per CPU-minute in a first 10-epoch run, so it got the longest budget
run --arch mini_xception --epochs 30 --max-minutes 60 --out runs/mini_xception_long
