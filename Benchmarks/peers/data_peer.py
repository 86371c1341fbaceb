#!/usr/bin/env python3
"""grain peer of `batchwise-bench data`: the same files, shuffled and batched by grain.

Pipeline: grain.MapDataset.source(H5Rows(file, "/x")).shuffle(seed=7).batch(256), iterated
from Python for --seconds per file; grain's shuffle is a global index permutation, so on the
gzip file each row read decompresses its chunk (h5py's default 1 MiB chunk cache).

Prints one JSON object {"peer": "grain", "version": ..., workload: {"value": rows/s}} on stdout.
"""
import argparse
import json
import time

import grain
import h5py
import numpy as np


class H5Rows:
    """A random-access source of the rows of one HDF5 dataset (opened once, read-only)."""

    def __init__(self, path, name):
        self.file = h5py.File(path, "r")
        self.data = self.file[name]

    def __len__(self):
        return self.data.shape[0]

    def __getitem__(self, index):
        return self.data[index]


def rows_per_second(path, seconds, batch=256, seed=7):
    source = H5Rows(path, "/x")
    dataset = grain.MapDataset.source(source).shuffle(seed=seed).batch(batch)
    rows = 0
    checksum = 0.0
    start = time.perf_counter()
    for value in dataset:
        assert value.shape == (batch, source.data.shape[1]), value.shape
        checksum += float(value[0, 0])
        rows += value.shape[0]
        if time.perf_counter() - start >= seconds:
            break
    elapsed = time.perf_counter() - start
    assert np.isfinite(checksum)
    return rows / elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--contiguous", required=True)
    parser.add_argument("--gzip", required=True)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    results = {
        "peer": "grain",
        "version": getattr(grain, "__version__", "unknown"),
        "global_shuffle_contiguous": {"value": rows_per_second(args.contiguous, args.seconds)},
        "global_shuffle_gzip": {"value": rows_per_second(args.gzip, args.seconds)},
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
