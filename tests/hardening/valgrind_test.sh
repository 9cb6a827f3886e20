#!/usr/bin/env bash
# valgrind memcheck on the bnnc command line, for every example model:
# compile (--random-weights), a short training run on a generated data set
# and --eval of the weights it wrote. Any memory error or a definitely or
# indirectly lost block fails; "still reachable" blocks (LLVM's and
# OpenBLAS's global state, kept until exit on purpose) do not count.
# Needs a build without sanitizers (scripts/valgrind.sh makes one).
# Usage: valgrind_test.sh BNNC MAKE_DATASET EXAMPLES_DIR [SUPPRESSIONS]
set -u
bnnc=$1 make_dataset=$2 examples=$3 supp=${4:-}
. "$(dirname "$0")/lib.sh"
command -v valgrind > /dev/null || { echo "valgrind is not installed: skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$make_dataset" "$work/data" 200 100 11 || { echo "make_dataset failed"; exit 1; }

vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --child-silent-after-fork=yes)
[ -n "$supp" ] && vg+=(--suppressions="$supp")
# memcheck NAME CMD...: the command exits 0 and valgrind reports nothing.
memcheck() {
  local name=$1
  shift
  local log=$work/$name.log
  "${vg[@]}" --log-file="$log" "$@" > /dev/null 2> "$work/$name.err"
  local code=$?
  check '[ $code -eq 0 ] && [ ! -s "$log" ]' "valgrind $name: exit $code; $(cat "$log" "$work/$name.err" | head -40)"
  echo "$name: exit $code"
}
for model in "$examples"/*.bnn; do
  name=$(basename "$model" .bnn)
  cp "$model" "$work/$name.bnn"
  memcheck "$name-compile" "$bnnc" "$work/$name.bnn" --random-weights 1 -o "$work/$name.o" -H "$work/$name.h"
  memcheck "$name-train" "$bnnc" --train "$work/$name.bnn" --data "$work/data" --threads 1 -q --epochs 1 \
    --limit-train 200 --limit-test 100 --batch 100 --metrics "$work/$name.csv" --plot "$work/$name.svg"
  memcheck "$name-eval" "$bnnc" --eval "$work/$name.bnn" --data "$work/data" --threads 1 --limit-test 100 \
    --predictions "$work/$name.pred"
done
# An error path, too: a damaged weights file.
head -c 100 "$work/bnn_mlp.safetensors" > "$work/cut.safetensors"
"${vg[@]}" --log-file="$work/cut.log" "$bnnc" --eval "$work/bnn_mlp.bnn" --data "$work/data" --weights "$work/cut.safetensors" > /dev/null 2>&1
code=$?
check '[ $code -eq 1 ] && [ ! -s "$work/cut.log" ]' "valgrind on a damaged weights file: exit $code; $(head -40 "$work/cut.log")"
finish
