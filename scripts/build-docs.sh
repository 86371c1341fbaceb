#!/usr/bin/env bash
# `make docs`: builds the DocC catalog of every public module (Sources/<Module>/<Module>.docc)
# with the swift-docc-plugin into one combined site, docs-build/Batchwise.doccarchive
# (gitignored), so that articles can link across modules (<doc:/documentation/Datasets/Dataset>).
# Fails on any warning about this package: DocC runs with --warnings-as-errors, and the log is
# searched for warnings too, because the compiler builds the symbol graphs first and its
# warnings would not stop DocC. Then every public symbol must have a doc comment
# (scripts/check-doc-coverage.swift over `swift package dump-symbol-graph`), and every Swift
# snippet of the documentation must compile (scripts/check-doc-snippets.sh). Works on a fresh
# clone: nothing here needs `make test` to have run first.
#
# View it by serving the archive with any static web server, e.g.
#   python3 -m http.server -d docs-build/Batchwise.doccarchive 8000
# and opening http://localhost:8000/documentation/
set -uo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
OUT=docs-build
MODULES=(Batchwise HDF5 Tensors Datasets Training Checkpoints Workflows Experiments Distributed)
mkdir -p "$OUT"
log="$OUT/build-docs.log"
start=$SECONDS
targets=()
for module in "${MODULES[@]}"; do targets+=(--target "$module"); done
rm -rf "$OUT/Batchwise.doccarchive"
"$SWIFT" package --allow-writing-to-directory "$OUT" generate-documentation "${targets[@]}" \
  --enable-experimental-combined-documentation --output-path "$OUT/Batchwise.doccarchive" \
  --warnings-as-errors >"$log" 2>&1
code=$?
# SwiftPM's note about a dependency's own unhandled resource file is not ours to fix.
warnings=$(grep -E "(warning|error|Error):" "$log" \
  | grep -vE "warning: '[A-Za-z0-9_.-]+': found [0-9]+ file\(s\) which are unhandled" || true)
if [ $code -ne 0 ] || [ -n "$warnings" ] || [ ! -f "$OUT/Batchwise.doccarchive/index.html" ]; then
  echo "$warnings" | head -60
  echo "make docs: FAILED (exit code $code, $((SECONDS - start)) s); full log: $log"
  exit 1
fi
# DocC never complains about a symbol with no comment at all; this check does.
# dump-symbol-graph also extracts the two modules SwiftPM synthesizes for `swift test`
# (BatchwisePackageTests, BatchwisePackageDiscoveredTests), which only a test build creates:
# on a fresh clone, before any `make test`, their extraction fails and so does the command.
# They declare nothing of ours, so exactly those two failures are ignored; any other error,
# or a documented module without its graph, fails.
"$SWIFT" package dump-symbol-graph --minimum-access-level public >"$OUT/symbol-graph.log" 2>&1
graphs=$(sed -n 's/^Files written to //p' "$OUT/symbol-graph.log" | tail -n 1)
unexpected=$(grep -E "error:" "$OUT/symbol-graph.log" \
  | grep -vE "^error: Failed to emit symbol graph for 'BatchwisePackage(Discovered)?Tests'" || true)
missing=()
for module in "${MODULES[@]}"; do [ -f "$graphs/$module.symbols.json" ] || missing+=("$module"); done
if [ -z "$graphs" ] || [ -n "$unexpected" ] || [ ${#missing[@]} -ne 0 ]; then
  echo "$unexpected" | head -30
  echo "make docs: FAILED (could not dump the symbol graphs${missing[*]:+ of ${missing[*]}}); log: $OUT/symbol-graph.log"
  exit 1
fi
if ! "$SWIFT" scripts/check-doc-coverage.swift "$graphs" Sources; then
  echo "make docs: FAILED (public symbols without a doc comment, listed above)"
  exit 1
fi
# Every ```swift block in README.md, the articles and the doc comments must compile against
# the modules just built (scripts/check-doc-snippets.swift; one swiftc -typecheck run).
if ! ./scripts/check-doc-snippets.sh "$OUT/snippets"; then
  echo "make docs: FAILED (documentation snippets that do not compile, listed above)"
  exit 1
fi
echo "make docs: ${#MODULES[@]} catalogs built without warnings in $((SECONDS - start)) s: $OUT/Batchwise.doccarchive"
