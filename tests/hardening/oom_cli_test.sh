#!/usr/bin/env bash
# `bnnc --train` on a model too big for the memory it may use exits 1 with
# the runtime's out-of-memory message, not an abort. The limit: `ulimit -v`
# (4 GB of address space); in a sanitized build ASan's own
# max_allocation_size_mb, because ASan reserves terabytes at startup.
# Usage: oom_cli_test.sh BNNC FILES_DIR SANITIZED(ON|OFF)
set -u
bnnc=$1 files=$2 sanitized=$3
. "$(dirname "$0")/lib.sh"
cd "$files"
if [ "$sanitized" = ON ]; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1:max_allocation_size_mb=1024"
  run=("$bnnc")
else
  run=(sh -c 'ulimit -v 4000000 && exec "$@"' sh "$bnnc")
fi
# toobig.bnn: binlinear 784 -> 1048576 (within the front end's limits), 6.6 GB with gradients.
expect_error 1 "^bnnc: error: bnn_net_create: out of memory: cannot allocate [0-9]+ parameter floats \\([0-9]+ MB\\)" \
  "--train on a model too big for memory" -- "${run[@]}" --train toobig.bnn --data data -o never.safetensors
check '[ ! -e never.safetensors ]' "nothing written"
expect_error 1 "^bnnc: error: bnn_net_create: out of memory" "--eval on a model too big for memory" -- \
  "${run[@]}" --eval toobig.bnn --data data --weights m.safetensors
finish
