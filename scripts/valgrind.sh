#!/usr/bin/env bash
# valgrind memcheck on the bnnc command line (tests/hardening/valgrind_test.sh):
# every example compiled, trained briefly and evaluated. valgrind cannot run
# sanitized binaries, so this builds a plain Release tree of its own.
#   scripts/valgrind.sh
# BUILD_DIR (default build-valgrind) says where to build.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind > /dev/null || { echo "install valgrind first (apt-get install valgrind)"; exit 1; }
build=${BUILD_DIR:-build-valgrind}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBNNC_SANITIZE=OFF -DBNNC_BUILD_BENCH=OFF
cmake --build "$build" -j"$(nproc)"
(cd "$build" && ctest --output-on-failure -R '^hardening_valgrind$')
