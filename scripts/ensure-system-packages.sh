#!/usr/bin/env bash
# Makes sure the system libraries Batchwise links against are present.
# As root it installs what is missing with apt-get; otherwise it names the packages and stops.
set -euo pipefail

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if command -v pkg-config >/dev/null 2>&1; then
  pkg-config --exists hdf5 || missing+=(libhdf5-dev)
  pkg-config --exists openblas || missing+=(libopenblas-dev)
  # Open MPI, for the Distributed module (its C API through pkg-config ompi-c) and `mpirun`.
  pkg-config --exists ompi-c || missing+=(libopenmpi-dev)
else
  missing+=(libhdf5-dev libopenblas-dev libopenmpi-dev)
fi
command -v mpirun >/dev/null 2>&1 || missing+=(openmpi-bin)
if [ "${NEED_H5DUMP:-0}" = 1 ]; then
  command -v h5dump >/dev/null 2>&1 || missing+=(hdf5-tools)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "batchwise: installing missing system packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  exit 0
fi

echo "batchwise: missing system packages: ${missing[*]}" >&2
echo "  install them with:  sudo apt-get install ${missing[*]}" >&2
echo "  (on macOS: brew install hdf5 openblas open-mpi pkg-config)" >&2
exit 1
