"""Keras peer for the layer/trainer benchmarks: throughput of `model.train_on_batch` loops.

Workloads (float32, Keras 3 on the TensorFlow backend, CPU):
  seed_model  Input(1) -> BN -> Dense(8, sigmoid) -> BN -> Dense(1, sigmoid), Adam, binary CE,
              batch 32; reported in steps/s.
  mlp         Input(784) -> Dense(256) -> BN -> relu -> Dense(256) -> BN -> relu -> Dense(10, softmax),
              Adam, sparse categorical CE, batch 128; reported in samples/s (steps/s x 128).
Each workload cycles through 8 pre-built random batches (numpy arrays, built before timing),
runs `--warmup` steps (tracing the tf.function), then counts steps for `--seconds` of wall time.
train_on_batch returns the loss as a Python float, so every step is synchronous.

Prints ONE JSON object on stdout, logs on stderr:
  {"seed_model": {"value": <steps/s>, "unit": "steps/s", "steps": n, "seconds": t},
   "mlp": {"value": <samples/s>, "unit": "samples/s", "steps": n, "seconds": t},
   "seed_model_cpu_per_step": {"value": <us>, "unit": "us"}, "mlp_cpu_per_step": {...}}
(process CPU time of all threads per timed step, `time.process_time`).

    TF_CPP_MIN_LOG_LEVEL=2 python3 Benchmarks/peers/layers_peer.py [--seconds 5] [--warmup 20]
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import keras  # noqa: E402


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def seed_model():
    inp = keras.Input(shape=(1,))
    h = keras.layers.BatchNormalization()(inp)
    h = keras.layers.Dense(8, activation="sigmoid")(h)
    h = keras.layers.BatchNormalization()(h)
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    m = keras.Model(inp, out)
    m.compile(optimizer="adam", loss="binary_crossentropy")
    return m


def mlp():
    inp = keras.Input(shape=(784,))
    h = keras.layers.Dense(256)(inp)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.Activation("relu")(h)
    h = keras.layers.Dense(256)(h)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.Activation("relu")(h)
    out = keras.layers.Dense(10, activation="softmax")(h)
    m = keras.Model(inp, out)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return m


def batches(kind, rng, count=8):
    out = []
    for _ in range(count):
        if kind == "seed_model":
            x = rng.normal(0.0, 1.0, size=(32, 1)).astype(np.float32)
            out.append((x, (x > 0).astype(np.float32)))
        else:
            x = rng.normal(0.0, 1.0, size=(128, 784)).astype(np.float32)
            out.append((x, rng.integers(0, 10, size=(128,)).astype(np.int64)))
    return out


def measure(model, data, seconds, warmup):
    for i in range(warmup):
        x, y = data[i % len(data)]
        model.train_on_batch(x, y)
    steps = 0
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    while True:
        x, y = data[steps % len(data)]
        loss = model.train_on_batch(x, y)
        steps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            break
    cpu = time.process_time() - cpu0
    if not np.isfinite(np.asarray(loss, dtype=np.float64)).all():
        raise RuntimeError("non-finite loss")
    return steps, elapsed, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="timed seconds per workload")
    ap.add_argument("--warmup", type=int, default=20, help="untimed steps per workload")
    args = ap.parse_args()

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    result = {}

    steps, t, cpu = measure(seed_model(), batches("seed_model", rng), args.seconds, args.warmup)
    result["seed_model"] = {"value": round(steps / t, 2), "unit": "steps/s", "steps": steps,
                            "seconds": round(t, 3)}
    result["seed_model_cpu_per_step"] = {"value": round(cpu / steps * 1e6, 1), "unit": "us"}
    log(f"seed_model: {steps} steps in {t:.2f}s")

    steps, t, cpu = measure(mlp(), batches("mlp", rng), args.seconds, args.warmup)
    result["mlp"] = {"value": round(steps * 128 / t, 1), "unit": "samples/s", "steps": steps,
                     "seconds": round(t, 3)}
    result["mlp_cpu_per_step"] = {"value": round(cpu / steps * 1e6, 1), "unit": "us"}
    log(f"mlp: {steps} steps in {t:.2f}s")

    print(json.dumps(result))


if __name__ == "__main__":
    main()
