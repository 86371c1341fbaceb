"""tf.data peer of `batchwise-bench pipeline`: the same four workloads, iterated from Python
the way users iterate a dataset (`for batch in ds:`), printed as ONE JSON object on stdout:

  {"seed_pipeline": {"value": batches/s, "unit": "batches/s"},
   "mnist_pipeline": {"value": elements/s, "unit": "elements/s"},
   "map_1ms_1_worker": {"value": elements/s, ...}, "map_1ms_2_workers": {...},
   "first_batch": {"value": seconds, "unit": "s"}}

    TF_CPP_MIN_LOG_LEVEL=2 python3 Benchmarks/peers/pipeline_peer.py [--seconds 3]
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def rate(iterator, seconds, per_item=1):
    next(iterator)  # warm-up: fills shuffle buffers, starts prefetch threads
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        next(iterator)
        count += 1
    return count * per_item / (time.perf_counter() - start)


def busy(ms):
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    out = {}

    x = rng.normal(size=(10_000, 1))
    y = (x[:, 0] > 0).astype(np.int64)
    seed = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(10_000, seed=18).repeat().batch(32).prefetch(2)
    out["seed_pipeline"] = {"value": rate(iter(seed), args.seconds), "unit": "batches/s"}

    mx = rng.random((60_000, 784), dtype=np.float32)
    my = rng.integers(0, 10, 60_000)
    mnist = tf.data.Dataset.from_tensor_slices((mx, my)).shuffle(60_000, seed=1).repeat().batch(128).prefetch(2)
    out["mnist_pipeline"] = {"value": rate(iter(mnist), args.seconds, per_item=128), "unit": "elements/s"}

    def slow(v):
        return tf.py_function(lambda t: (busy(1.0), t)[1], [v], tf.int64)

    for workers in (1, 2):
        ds = tf.data.Dataset.range(1 << 30).map(slow, num_parallel_calls=workers).prefetch(2)
        it = iter(ds)
        next(it)
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            next(it)
            busy(1.0)  # the consumer works too
            count += 1
        name = "map_1ms_1_worker" if workers == 1 else "map_1ms_2_workers"
        out[name] = {"value": count / (time.perf_counter() - start), "unit": "elements/s"}

    start = time.perf_counter()
    first = iter(tf.data.Dataset.from_tensor_slices((x, y)).shuffle(10_000, seed=3).batch(32))
    next(first)
    out["first_batch"] = {"value": time.perf_counter() - start, "unit": "s"}

    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
