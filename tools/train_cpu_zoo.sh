#!/usr/bin/env bash
# The zoo's training runs, one per line, all with the same recipe (fer_core/training/train.py)
# and a stated wall-clock budget on 2 CPU cores. Every run resumes from its checkpoint, so this
# script can be started again in a later session and carries on where the last one stopped:
#   tools/train_cpu_zoo.sh [DATA] [RUN ...]     (default: every run not finished yet)
# Then, per finished run: python -m fer_core export runs/NAME --name NAME --data DATA
# (and python -m fer_core ensemble / select-default; see README, "Retraining").
# On a GPU the same lines work unchanged (the budget then buys far more epochs).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/fer2013}
shift || true
PY=${PY:-.venv/bin/python}
export KERAS_BACKEND=${KERAS_BACKEND:-torch}  # the fastest backend on this CPU (bench.tables.train_speed)

declare -A RUNS=(
  # the default: the best single model at <= 2 ms per face
  [plain_vgg_w24_s0]="--arch plain_vgg --width 24 --seed 0 --minutes 110"
  # the fast model (<= 0.5 ms per face): a quarter of the FLOPs
  [plain_vgg_w12_s0]="--arch plain_vgg --width 12 --seed 0 --minutes 60"
  # ensemble members for the most accurate option
  [plain_vgg_w24_s1]="--arch plain_vgg --width 24 --seed 1 --minutes 110"
  [plain_vgg_w32_s2]="--arch plain_vgg --width 32 --seed 2 --minutes 150"
  # a fourth member that fits one CPU session (runs/ does not always survive between sessions).
  # Tried at --minutes 100 (24 epochs, PublicTest 64.9%): it lowered plain_vgg_x3 on PublicTest
  # and was not shipped; the others had 110 minutes (45-57 epochs), so this line has them too
  [plain_vgg_w24_s2]="--arch plain_vgg --width 24 --seed 2 --minutes 110"
  # distillation trial: the fast model's network, seed and budget, taught by the ensemble
  # plain_vgg_x2 (trained on Training only); kept only if PublicTest beats plain_vgg_w12_s0
  [plain_vgg_w12_s0_kd]="--arch plain_vgg --width 12 --seed 0 --minutes 60 --teacher plain_vgg,plain_vgg_s1"
  # distillation of the default: its network, seed and budget, taught by the same ensemble;
  # select-default keeps it only if it scores higher on PublicTest as the app runs it
  [plain_vgg_w24_s1_kd]="--arch plain_vgg --width 24 --seed 1 --minutes 110 --teacher plain_vgg,plain_vgg_s1"
  # the seed lineup, same loop, so the comparison page compares architectures, not budgets
  [mini_xception_r2]="--arch mini_xception --seed 0 --minutes 60"
  [vgg_bn_r2]="--arch vgg_bn --width 16 --seed 0 --minutes 60"
  [dcnn_r2]="--arch dcnn --width 32 --seed 0 --minutes 60"
  [baseline_cnn_r2]="--arch baseline_cnn --seed 0 --minutes 60"
  [mobilenet_v2_r2]="--arch mobilenet_v2 --seed 0 --minutes 60"  # from scratch: no download
  # trained on the FER+ crowd votes (issue 23): the default's network, judged by agreement with
  # people. The first one had the 42 minutes left of a session; the full recipe gives it 110
  [plain_vgg_w24_s0_ferplus_42m]="--arch plain_vgg --width 24 --seed 0 --minutes 42 --labels ferplus"
  [plain_vgg_w24_s0_ferplus]="--arch plain_vgg --width 24 --seed 0 --minutes 110 --labels ferplus"
  [plain_vgg_w12_s0_ferplus]="--arch plain_vgg --width 12 --seed 0 --minutes 60 --labels ferplus"
  # votes and labels half and half: plain_vgg_w24_s0_ferplus (shipped as plain_vgg_votes) agrees with
  # people most but falls below the fer package on FER2013's labels; the blend keeps both (issue 23)
  [plain_vgg_w24_s0_mix50]="--arch plain_vgg --width 24 --seed 0 --minutes 110 --labels mix:0.5"
  # one network taught by the pair that reaches both benchmarks together: plain_vgg_votes (crowd) and
  # the FER2013 default plain_vgg_s1_kd; targets ~0.6 crowd (0.5 x 0.7 votes + half the teacher's
  # votes member), ~0.4 FER2013; the default's budget
  [plain_vgg_w24_s2_people_kd]="--arch plain_vgg --width 24 --seed 2 --minutes 110 --labels mix:0.7 --teacher plain_vgg_votes,plain_vgg_s1_kd --teacher-weight 0.5"
  # the same teaching for twice the epochs (120 against 61; it spans sessions, so a fixed count
  # rather than a budget timed on a shared CPU), with a little more of FER2013's labels: shipped as plain_vgg_people it agreed with people at 80% on PublicTest but fell below
  # the fer package's FER2013 floor there, so select-default kept the old default
  # taught by three: the crowd model, the people model and the FER2013 default, so a second
  # people-style network differs from plain_vgg_people (its ensemble partner under the 2 ms budget);
  # 50 epochs (~110 minutes on 2 cores with light work beside it) leave a session time to export, evaluate
  # and select; a fixed count, because a --minutes run sized while other work shares the CPU gets too few
  # epochs. Exported as plain_vgg_people2: every blend with it lost on PublicTest to
  # blend_votes_people_s1kd, so it was retired (docs/models.md) and is left out of the default ORDER:
  # name it to train it again
  [plain_vgg_w24_s3_people_kd3]="--arch plain_vgg --width 24 --seed 3 --epochs 50 --labels mix:0.7 --teacher plain_vgg_votes,plain_vgg_people,plain_vgg_s1_kd --teacher-weight 0.5"
  [plain_vgg_w24_s6_people_long]="--arch plain_vgg --width 24 --seed 6 --epochs 120 --labels mix:0.6 --teacher plain_vgg_votes,plain_vgg_s1_kd --teacher-weight 0.5"
)
ORDER=(plain_vgg_w24_s0 plain_vgg_w12_s0 plain_vgg_w24_s1 plain_vgg_w12_s0_kd plain_vgg_w32_s2 plain_vgg_w24_s2 mini_xception_r2
       plain_vgg_w24_s1_kd vgg_bn_r2 dcnn_r2 baseline_cnn_r2 mobilenet_v2_r2
       plain_vgg_w24_s0_ferplus plain_vgg_w24_s0_mix50 plain_vgg_w12_s0_ferplus plain_vgg_w24_s2_people_kd
       plain_vgg_w24_s6_people_long)
for name in "${@:-${ORDER[@]}}"; do
  out=runs/$name
  if [ -f "$out/train_config.json" ]; then  # written when a run's schedule has ended
    echo "$name: finished (runs/$name/train_config.json)"; continue
  fi
  # a fresh clone has no runs/: a shipped model trained into runs/NAME means the run is done
  if grep -ls "\"out\": \"runs/$name\"" models/*/train_config.json >/dev/null 2>&1; then
    echo "$name: finished and shipped ($(grep -ls "\"out\": \"runs/$name\"" models/*/train_config.json))"; continue
  fi
  mkdir -p "$out"
  # shellcheck disable=SC2086
  "$PY" -m fer_core train --data "$DATA" --out "$out" --resume ${RUNS[$name]} 2>&1 | tee -a "runs/$name.log"
done
