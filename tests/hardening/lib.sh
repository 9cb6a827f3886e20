# lib.sh - helpers shared by the hardening test scripts (sourced).
#   check CONDITION WHAT      count a pass, or print FAIL: WHAT
#   expect_error CODE REGEX WHAT -- CMD...
#                             run CMD; require exit CODE and stderr matching REGEX
#   temps DIR                 the atomic writer's leftovers (.NAME.tmp.XXXXXX) in DIR
#   finish                    print the tally; exit 1 on any failure
pass=0 fail=0
check() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2" >&2; fi; }
expect_error() {
  local code=$1 regex=$2 what=$3
  shift 4
  local err got
  err=$("$@" 2>&1 >/dev/null)
  got=$?
  if [ "$got" -eq "$code" ] && printf '%s' "$err" | grep -Eq -- "$regex"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    printf 'FAIL: %s\n  command: %s\n  exit %s (expected %s), stderr:\n%s\n  expected to match: %s\n' \
      "$what" "$*" "$got" "$code" "$err" "$regex" >&2
  fi
}
temps() { find "$1" -maxdepth 1 -name '.*.tmp.*' | sort; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; }
