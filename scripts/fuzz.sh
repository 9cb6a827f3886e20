#!/usr/bin/env bash
# Builds bnnc's libFuzzer targets with clang and runs each for a fixed time.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 60; CI runs 45, `scripts/fuzz.sh 600` for a
# longer session). TARGETs default to all four: fuzz_frontend, fuzz_compile,
# fuzz_safetensors, fuzz_idx. Environment:
#   FUZZ_BUILD_DIR  clang build directory (default build-fuzz)
#   FUZZ_JOBS       libFuzzer worker processes per target (default 1)
#   FUZZ_ARGS       extra libFuzzer flags, e.g. "-max_len=16384"
#
# Each target starts from its seed corpus (fuzz/corpus/TARGET) and its saved
# crashes (fuzz/regressions/TARGET); what it learns goes to
# FUZZ_BUILD_DIR/fuzz-corpus/TARGET, never into the source tree. A crash, a
# leak, a sanitizer report, an input slower than 25 s or a fuzz target that
# exits is a finding: the input is saved under FUZZ_BUILD_DIR/fuzz-findings/TARGET/,
# its path is printed, the remaining targets still run, and the script exits 1.
#
# A finding becomes a regression test by copying it (renamed to say what it
# is) into fuzz/regressions/TARGET/, which tests/fuzz replays in the ctest
# suite. To fold a long run's new coverage back into the seed corpus:
#   build-fuzz/fuzz/fuzz_idx -merge=1 fuzz/corpus/fuzz_idx build-fuzz/fuzz-corpus/fuzz_idx
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_frontend fuzz_compile fuzz_safetensors fuzz_idx)
case $seconds in
  '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, not '$seconds'" >&2; exit 2 ;;
esac

build=${FUZZ_BUILD_DIR:-build-fuzz}
case $build in /*) ;; *) build=$root/$build ;; esac
jobs=${FUZZ_JOBS:-1}

cc=${FUZZ_CC:-$(command -v clang || true)}
if [ -z "$cc" ]; then
  echo "fuzz.sh: clang not found (Debian: apt-get install clang libclang-rt-dev)" >&2
  exit 2
fi

cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DBNNC_FUZZ=ON -DBNNC_BUILD_TESTS=OFF -DBNNC_BUILD_BENCH=OFF -DBNNC_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

# Own sanitizer settings, whatever the caller exported (scripts/test.sh sets
# abort_on_error for ctest): libFuzzer must see each report to save the input.
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
unset BNNC_FUZZ_VERBOSE

declare -A dict=([fuzz_frontend]=fuzz/bnn.dict [fuzz_compile]=fuzz/bnn.dict
                 [fuzz_safetensors]=fuzz/safetensors.dict)
failed=()
for t in "${targets[@]}"; do
  bin=$build/fuzz/$t
  work=$build/fuzz-corpus/$t
  findings=$build/fuzz-findings/$t
  log=$build/fuzz-logs/$t.log
  mkdir -p "$work" "$findings" "$(dirname "$log")"
  rm -f "$findings"/*
  args=(-max_total_time="$seconds" -timeout=25 -rss_limit_mb=2560 -print_final_stats=1
        -artifact_prefix="$findings/")
  [ -n "${dict[$t]:-}" ] && args+=(-dict="${dict[$t]}")
  [ "$jobs" -gt 1 ] && args+=(-fork="$jobs")
  # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
  args+=(${FUZZ_ARGS:-})
  echo "fuzz.sh: $t for ${seconds}s (log: $log)"
  rc=0
  "$bin" "${args[@]}" "$work" "fuzz/corpus/$t" "fuzz/regressions/$t" >"$log" 2>&1 || rc=$?
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' "$log" \
    | sed "s/^/  /" || true
  found=$(find "$findings" -type f | sort)
  if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    echo "fuzz.sh: FINDING in $t (libFuzzer exit $rc); report:" >&2
    grep -E -m 20 'ERROR:|runtime error|invariant broken|internal error|SUMMARY' "$log" | sed 's/^/  /' >&2 || true
    for f in $found; do
      echo "fuzz.sh: crashing input: $f" >&2
      echo "fuzz.sh:   reproduce: $bin $f" >&2
    done
    [ -n "$found" ] || echo "fuzz.sh: no input saved; see $log" >&2
    failed+=("$t")
  else
    echo "  corpus: $(find "$work" -type f | wc -l) files in $work"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in: ${failed[*]} (full logs in $build/fuzz-logs/)" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, ${seconds}s each, no finding"
