#!/usr/bin/env bash
# Type-checks every ```swift block of README.md, the DocC articles and the doc comments under
# Sources/ against this package's debug modules (scripts/check-doc-snippets.swift explains
# how); `make docs` runs it after building them. OUTPUT_DIR receives the generated files.
#
#   scripts/check-doc-snippets.sh [OUTPUT_DIR]      # default docs-build/snippets
set -uo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
out=${1:-docs-build/snippets}
bin=$("$SWIFT" build --show-bin-path) || exit 1
"$SWIFT" build --product batchwise >/dev/null && "$SWIFT" build --target Distributed >/dev/null || {
  echo "check-doc-snippets: the modules do not build"; exit 1; }
# The Swift modules, plus what importing them needs: the C modules' maps and libhdf5/OpenBLAS/Open MPI headers.
flags=(-I "$bin/Modules")
for map in Sources/*/module.modulemap .build/checkouts/*/Sources/*/module.modulemap "$bin"/*.build/module.modulemap; do
  [ -f "$map" ] && flags+=(-Xcc "-fmodule-map-file=$(cd "$(dirname "$map")" && pwd)/module.modulemap")
done
for flag in $(pkg-config --cflags hdf5 openblas ompi-c 2>/dev/null); do flags+=(-Xcc "$flag"); done
exec "$SWIFT" scripts/check-doc-snippets.swift scripts/doc-snippets/Prelude.swift "$out" README.md Sources -- "${flags[@]}"
