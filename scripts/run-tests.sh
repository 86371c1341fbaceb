#!/usr/bin/env bash
# Runs the whole test suite and exits non-zero if any test fails or none ran.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
swift test 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# Swift Testing's closing line: "Test run with N tests in M suites passed/failed ..."
summary=$(grep -E "Test run with [0-9]+ tests?" "$log" | tail -n 1)
rm -f "$log"
if [ "$status" -ne 0 ]; then
  echo "make test: FAILED (swift test exit code $status)"
  exit "$status"
fi
if [ -z "$summary" ]; then
  echo "make test: no Swift Testing summary found; treating as failure"
  exit 1
fi
echo "make test: tests passed; building and running the examples"
# The examples run only after the suite passes, so CI (make test) also checks that they
# build and behave; their failure fails the run.
if ! ./scripts/run-examples.sh; then
  echo "make test: FAILED (examples)"
  exit 1
fi
echo "make test: passed"
