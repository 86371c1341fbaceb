#!/usr/bin/env bash
# Runs the Datasets, HDF5, Tensors and Training test targets under Thread Sanitizer and Address
# Sanitizer (each in its own build folder) and fails on any sanitizer report or test failure.
#
#   scripts/run-sanitized-tests.sh            # both
#   scripts/run-sanitized-tests.sh thread     # or: address
#
# A first run builds everything instrumented (about 2 min for TSan, 3-5 min for ASan on
# 2 cores); later runs rebuild only what changed.
set -uo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
# Tensors since stop 24: its own sgemm (C, pointer arithmetic, parts on several threads).
FILTER='DatasetsTests|HDF5Tests|TensorsTests|TrainingTests'
SUPP="$PWD/scripts/sanitizers"
kinds=("$@")
[ ${#kinds[@]} -eq 0 ] && kinds=(thread address)

run_one() {
  local kind=$1 path log status start
  case "$kind" in
    thread)  path=.build-tsan ;;
    address) path=.build-asan ;;
    *) echo "run-sanitized-tests: unknown sanitizer '$kind' (thread|address)"; return 2 ;;
  esac
  log=$(mktemp)
  start=$(date +%s)
  echo "== $kind sanitizer: building into $path"
  # The build runs tools compiled with the sanitizer too (the type-registry plugin's generator);
  # LeakSanitizer counts Foundation's never-freed regular-expression cache in them as a leak and
  # fails the build. Leaks of a build tool are not under test: only the test run checks leaks.
  if ! ASAN_OPTIONS="detect_leaks=0" "$SWIFT" build --build-tests --sanitize="$kind" --build-path "$path" >"$log" 2>&1; then
    grep -v "ld.gold: warning" "$log" | tail -n 40
    echo "== $kind sanitizer: BUILD FAILED"; rm -f "$log"; return 1
  fi
  local built=$(date +%s)
  echo "== $kind sanitizer: running $FILTER"
  # halt_on_error=0: collect every report of the run, then fail through the exit code and the
  # report scan below. Leak suppressions cover only toolchain-library leaks (see the file).
  TSAN_OPTIONS="halt_on_error=0:exitcode=66:second_deadlock_stack=1" \
  ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1" \
  LSAN_OPTIONS="suppressions=$SUPP/lsan.supp:print_suppressions=0" \
    "$SWIFT" test --skip-build --sanitize="$kind" --build-path "$path" --filter "$FILTER" >"$log" 2>&1
  status=$?
  local end=$(date +%s)
  local reports summary
  reports=$(grep -cE "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer" "$log")
  summary=$(grep -E "Test run with [0-9]+ tests?" "$log" | tail -n 1)
  echo "== $kind sanitizer: build $((built - start)) s, tests $((end - built)) s, exit $status, reports $reports"
  echo "   $summary"
  if [ "$status" -ne 0 ] || [ "$reports" -ne 0 ] || [ -z "$summary" ] || ! grep -q "passed" <<<"$summary"; then
    grep -vE "ld.gold: warning|^.\[9[02]m|✔|◇|↳" "$log" | head -n 150
    echo "== $kind sanitizer: FAILED (full log kept at $log)"
    return 1
  fi
  rm -f "$log"
}

failed=0
for kind in "${kinds[@]}"; do run_one "$kind" || failed=1; done
if [ "$failed" -ne 0 ]; then echo "make test-sanitize: FAILED"; exit 1; fi
echo "make test-sanitize: clean (${kinds[*]})"
