#!/bin/sh
# Compiled convolutional models against the runtime (libbnn's eval mode):
# `bnnc --verify` JIT-compiles each model and compares it on random inputs
# with the runtime's own conv/pool ops, with seeded random weights.
#   verify_runtime.sh BNNC MODEL.bnn...
set -e
bnnc=$1
shift
for model in "$@"; do
  "$bnnc" --verify "$model" --random-weights 11 --samples 100 --quiet || {
    echo "FAIL: $model: compiled model disagrees with the runtime" >&2
    exit 1
  }
  echo "ok $model"
done
