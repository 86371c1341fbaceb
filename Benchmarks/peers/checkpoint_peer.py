"""Keras peer for the checkpoint benchmark: wall time of `model.save("x.keras")` and `keras.saving.load_model`.

Model (functional): Input(784) -> Dense(256) -> BatchNormalization -> Activation(relu) -> Dense(256) ->
BatchNormalization -> Activation(relu) -> Dense(10, softmax); compiled with Adam, sparse categorical
crossentropy, metrics=["accuracy"]; trained ONE step (train_on_batch on 32 random rows, seed 0) so the
Adam state (iteration, learning rate, momentum and velocity per trainable variable) is written too.
271,370 variables (270,346 trainable + 1,024 moving statistics); the .keras file is 3.29 MB.

Timing: one warm-up save + load, then --repetitions (default 7) of each; reported value = median.
  save: model.save(path)                       (path in a fresh temporary directory, overwritten each time)
  load: keras.saving.load_model(path)          (defaults: compile=True, so optimizer state is restored)
Each timed region is just that call (time.perf_counter); TF/Keras import and model building are outside it.

Prints ONE JSON object on stdout, logs on stderr:
  {"save": {"value": <seconds>, "unit": "s"}, "load": {"value": <seconds>, "unit": "s"}}

    TF_CPP_MIN_LOG_LEVEL=2 python3 Benchmarks/peers/checkpoint_peer.py [--repetitions 7]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import keras  # noqa: E402


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def build():
    inp = keras.Input(shape=(784,))
    h = keras.layers.Dense(256)(inp)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.Activation("relu")(h)
    h = keras.layers.Dense(256)(h)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.Activation("relu")(h)
    out = keras.layers.Dense(10, activation="softmax")(h)
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repetitions", type=int, default=7)
    args = ap.parse_args()

    keras.utils.set_random_seed(0)
    model = build()
    rng = np.random.default_rng(0)
    x = rng.random((32, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=32)
    model.train_on_batch(x, y)
    log(f"params {model.count_params()}, optimizer vars {len(model.optimizer.variables)}, "
        f"iterations {int(model.optimizer.iterations.numpy())}")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.keras")
        model.save(path)                      # warm-up
        reloaded = keras.saving.load_model(path)
        ref = np.asarray(model(x, training=False))
        diff = float(np.abs(np.asarray(reloaded(x, training=False)) - ref).max())
        log(f"file {os.path.getsize(path)} bytes; reload prediction max|diff| {diff:g}")
        if diff > 1e-6:
            raise SystemExit(f"reloaded model disagrees with the original (max diff {diff})")

        saves, loads = [], []
        for i in range(args.repetitions):
            t0 = time.perf_counter()
            model.save(path)
            saves.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            keras.saving.load_model(path)
            loads.append(time.perf_counter() - t0)
            log(f"rep {i}: save {saves[-1]:.4f} s, load {loads[-1]:.4f} s")
    log(f"save min {min(saves):.4f} median {statistics.median(saves):.4f} max {max(saves):.4f}; "
        f"load min {min(loads):.4f} median {statistics.median(loads):.4f} max {max(loads):.4f}")
    print(json.dumps({"save": {"value": round(statistics.median(saves), 6), "unit": "s"},
                      "load": {"value": round(statistics.median(loads), 6), "unit": "s"}}))


if __name__ == "__main__":
    main()
