"""Keras peer for `batchwise-bench conv`: throughput of `model.train_on_batch` on two CNNs.

Workloads (float32, Keras 3 on the TensorFlow backend, CPU, channels_last), Adam, sparse
categorical crossentropy, reported in steps/s:
  digits_cnn  Input(8, 8, 1) -> Conv2D(16, 3, same) -> BN -> relu -> MaxPool(2)
              -> Conv2D(32, 3, same) -> BN -> relu -> GlobalAveragePooling2D -> Dense(10, softmax); batch 32
  mnist_cnn   Input(28, 28, 1) -> Conv2D(32, 3) -> BN -> relu -> MaxPool(2)
              -> Conv2D(64, 3) -> BN -> relu -> MaxPool(2) -> Flatten -> Dense(10, softmax); batch 128
Each cycles through 8 pre-built random batches, runs `--warmup` steps, then counts steps for
`--seconds` of wall time. Prints ONE JSON object on stdout, logs on stderr:
  {"digits_cnn": {"value": <steps/s>, "unit": "steps/s", ...}, "mnist_cnn": {...}}

    TF_CPP_MIN_LOG_LEVEL=2 python3 Benchmarks/peers/conv_peer.py [--seconds 5] [--warmup 20]
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def digits_cnn():
    inp = keras.Input(shape=(8, 8, 1))
    h = layers.Conv2D(16, 3, padding="same")(inp)
    h = layers.Activation("relu")(layers.BatchNormalization()(h))
    h = layers.MaxPooling2D(2)(h)
    h = layers.Conv2D(32, 3, padding="same")(h)
    h = layers.Activation("relu")(layers.BatchNormalization()(h))
    h = layers.GlobalAveragePooling2D()(h)
    out = layers.Dense(10, activation="softmax")(h)
    return keras.Model(inp, out)


def mnist_cnn():
    inp = keras.Input(shape=(28, 28, 1))
    h = layers.Conv2D(32, 3)(inp)
    h = layers.Activation("relu")(layers.BatchNormalization()(h))
    h = layers.MaxPooling2D(2)(h)
    h = layers.Conv2D(64, 3)(h)
    h = layers.Activation("relu")(layers.BatchNormalization()(h))
    h = layers.MaxPooling2D(2)(h)
    out = layers.Dense(10, activation="softmax")(layers.Flatten()(h))
    return keras.Model(inp, out)


def measure(model, data, seconds, warmup):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    for i in range(warmup):
        model.train_on_batch(*data[i % len(data)])
    steps = 0
    t0 = time.perf_counter()
    while True:
        loss = model.train_on_batch(*data[steps % len(data)])
        steps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            break
    if not np.isfinite(np.asarray(loss, dtype=np.float64)).all():
        raise RuntimeError("non-finite loss")
    return steps, elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="timed seconds per workload")
    ap.add_argument("--warmup", type=int, default=20, help="untimed steps per workload")
    args = ap.parse_args()
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    result = {}
    for name, build, batch, side in (("digits_cnn", digits_cnn, 32, 8), ("mnist_cnn", mnist_cnn, 128, 28)):
        data = [(rng.normal(size=(batch, side, side, 1)).astype(np.float32),
                 rng.integers(0, 10, size=(batch,)).astype(np.int64)) for _ in range(8)]
        steps, t = measure(build(), data, args.seconds, args.warmup)
        result[name] = {"value": round(steps / t, 2), "unit": "steps/s", "steps": steps, "seconds": round(t, 3)}
        log(f"{name}: {steps} steps in {t:.2f}s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
