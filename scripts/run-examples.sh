#!/usr/bin/env bash
# Builds and runs the examples (Examples/SeedPipeline, Examples/KerasPredict) and the
# separate package Examples/Downstream; exits non-zero if any fails to build or run.
# The downstream package builds Batchwise again in its own Examples/Downstream/.build
# (about 40 s cold on 2 cores; incremental runs take seconds).
set -uo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
failed=()
run() {
  local name=$1; shift
  local start=$SECONDS
  echo "== examples: $name ($*)"
  if "$@"; then
    echo "== examples: $name passed ($((SECONDS - start)) s)"
  else
    echo "== examples: $name FAILED (exit code $?)"
    failed+=("$name")
  fi
}
run SeedPipeline "$SWIFT" run SeedPipeline
run KerasPredict "$SWIFT" run KerasPredict
run DigitsClassifier "$SWIFT" run DigitsClassifier
# Exits 1 (FAIL) if its mean test accuracy over 5 seeds drops below Keras's (Examples/DigitsCNN/README.md).
run DigitsCNN "$SWIFT" run DigitsCNN
run Downstream "$SWIFT" run --package-path Examples/Downstream
if [ "${#failed[@]}" -ne 0 ]; then
  echo "make examples: FAILED: ${failed[*]}"
  exit 1
fi
echo "make examples: passed"
