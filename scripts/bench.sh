#!/bin/sh
# scripts/bench.sh [BUILD_DIR] - build Release and run the inference benchmark
# (bench/bnnc_bench.c; docs/performance.md explains the table). Prints the
# table and writes BUILD_DIR/bnnc_bench.csv. Single-thread figures use thread
# CPU time; run on an idle machine for wall-clock-true numbers.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-bench}
: "${OPENBLAS_CORETYPE:=Haswell}"   # OpenBLAS's AVX2 kernels, as in docs/performance.md
export OPENBLAS_CORETYPE
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target bnnc_bench
"$build/bench/bnnc_bench" "$build/bnnc_bench.csv"
