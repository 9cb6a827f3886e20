#!/usr/bin/env bash
# The README's test command: installs what bnnc needs, builds everything with
# -Werror and AddressSanitizer + UBSan, and runs the whole ctest suite.
#   scripts/test.sh [extra ctest args]
# BUILD_DIR (default build-test) says where to build.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

build=${BUILD_DIR:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DBNNC_WERROR=ON -DBNNC_SANITIZE=ON -DBNNC_BUILD_BENCH=OFF
cmake --build "$build" -j"$(nproc)"

# Leak checking is part of the run; abort on the first sanitizer report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
(cd "$build" && ctest --output-on-failure -j"$(nproc)" "$@")

# Each libFuzzer target for a short fixed time (clang build in $build-fuzz);
# any finding fails the run and prints the input's path. FUZZ_SECONDS=0 skips.
if [ "${FUZZ_SECONDS:-45}" != 0 ]; then
  FUZZ_BUILD_DIR="$build-fuzz" scripts/fuzz.sh "${FUZZ_SECONDS:-45}"
fi
