#!/usr/bin/env bash
# `make bench`: every benchmark in a release build, each beside its Python peer in the same
# invocation. Results (one JSON file per area plus the printed tables) go to bench-results/.
# Peers need python3 with tensorflow-cpu, keras, h5py and numpy; without them each row is
# reported with no peer value rather than failing the run.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/batchwise-bench
[ -x "$bin" ] || { echo "make bench: $bin is missing (run 'make release-bench')" >&2; exit 1; }
if ! python3 -c "import tensorflow, keras, h5py, numpy" 2>/dev/null; then
  echo "make bench: python3 with tensorflow-cpu, keras, h5py and numpy not found;" \
       "Batchwise rows are measured, peer columns stay empty (pip install tensorflow-cpu keras h5py numpy)" >&2
fi
out=bench-results
mkdir -p "$out"
areas=(${BENCH_AREAS:-hdf5 hdf5-stream pipeline layers train checkpoint})
status=0
for area in "${areas[@]}"; do
  echo "== bench $area"
  if "$bin" "$area" --json > "$out/$area.json"; then
    cat "$out/$area.json"
  else
    echo "make bench: 'batchwise-bench $area' failed" >&2
    status=1
  fi
done
echo "make bench: results in $out/"
exit $status
