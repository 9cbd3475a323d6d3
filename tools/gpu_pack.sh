#!/usr/bin/env bash
# Prepares, on this machine, what a lent GPU machine needs to run the training recipe
# (tools/gpu_train.sh; README, "Training on a lent GPU"): the Keras wheels its Python lacks and
# FER2013's Training and PublicTest images in two tars. A device call carries at most 64 MiB
# with the working tree, so the images travel in two calls back to back (the machine keeps
# ignored paths while it is warm), each with half the files. GPU_TEACHER names cached teacher
# probabilities (runs/NAME/teacher_probs_*.npy) to take along. Everything lands in .gpu/, which
# git ignores: FER2013 never enters the repository. PrivateTest stays here: it is read only by `evaluate`, under TensorFlow.
#   [GPU_TEACHER=runs/NAME/teacher_probs_X.npy] tools/gpu_pack.sh [DATA]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/fer2013}
PY=${PY:-.venv/bin/python}
G=${GPU_DIR:-.gpu}  # another folder only for tests
mkdir -p "$G/wheels"
rm -f "$G"/wheels/*.whl "$G"/train_*.tar*
# the device runs CPython 3.12 with numpy, h5py, rich, ml-dtypes, absl-py, packaging, torch, jax
# and OpenCV, but neither Keras nor two of its needs; the same Keras as here, so the .keras
# files load back here unchanged
keras_version=$("$PY" -c "import keras; print(keras.__version__)")
for spec in "keras==$keras_version" namex "optree<0.21"; do
  [ -z "${GPU_SKIP_WHEELS:-}" ] || break  # tests: no download
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$G/wheels" "$spec"
done
# FER2013's layout, relative to DATA's parent: fer2013/train/<emotion>/Training_*.jpg and
# fer2013/test/<emotion>/PublicTest_*.jpg, split by file so both halves hold every class
base=$(basename "$DATA")
G=$(cd "$G" && pwd)
(cd "$DATA/.." && find "$base/train" -name 'Training_*' | sort) > "$G/training.list"
(cd "$DATA/.." && find "$base/test" -name 'PublicTest_*' | sort) > "$G/publictest.list"
cat "$G/training.list" "$G/publictest.list" > "$G/all.list"
awk 'NR % 2 == 1' "$G/all.list" > "$G/MANIFEST_a"  # alternate files: two halves of equal size
awk 'NR % 2 == 0' "$G/all.list" > "$G/MANIFEST_b"
# the FER+ crowd votes (MIT) beside the data, as `train --labels ferplus|mix:A` looks for them
if [ -f "$DATA/../ferplus/votes.csv" ]; then
  (cd "$DATA/.." && find ferplus -maxdepth 1 -type f \( -name votes.csv -o -name 'README*' -o -name 'LICENSE*' \) | sort) \
    >> "$G/MANIFEST_a"
fi
for part in a b; do
  tar -czf "$G/train_$part.tar.gz" -C "$DATA/.." -T "$G/MANIFEST_$part" -C "$G" "MANIFEST_$part"
done
rm -f "$G"/*.list "$G"/MANIFEST_*
# a distillation teacher's probabilities for these Training faces (`train --teacher` caches them
# as teacher_probs_<names>.npy in its run folder): the device has no LiteRT to compute them
rm -rf "$G/teacher"
if [ -n "${GPU_TEACHER:-}" ]; then mkdir -p "$G/teacher" && cp $GPU_TEACHER "$G/teacher/"; fi
ls -l "$G"/wheels "$G"/*.tar.gz
[ ! -d "$G/teacher" ] || ls -l "$G/teacher"
