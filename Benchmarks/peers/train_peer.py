"""Keras peer for the end-to-end training benchmark: wall time of `model.fit` on the seed experiment.

Setup (same as Benchmarks/peers/seed_experiment_keras.py, seed 18 by default):
  x_train ~ N(0, 1), 10,000 rows float64, label x > 0; validation 100 rows, same distribution;
  tf.data: from_tensor_slices -> shuffle(10000, seed) -> repeat -> batch(32) -> prefetch(2);
  model Input(1) -> BN -> Dense(8, sigmoid) -> BN -> Dense(1, sigmoid), Adam (defaults),
  binary crossentropy, metrics=["accuracy"];
  model.fit(ds, epochs, steps_per_epoch, validation_data=val.batch(32), verbose=0).
The timed region is the `fit` call only (it includes tf.function tracing, as a user would see);
data generation, model construction and compile happen before it, TF import is outside it.

Prints ONE JSON object on stdout, logs on stderr:
  {"seed_fit": {"value": <seconds>, "unit": "s", "epochs": e, "steps_per_epoch": s,
                "final_accuracy": a}}

    TF_CPP_MIN_LOG_LEVEL=2 python3 Benchmarks/peers/train_peer.py [--epochs 10] [--steps-per-epoch 313] [--seed 18]
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def seed_model():
    inp = keras.Input(shape=(1,))
    h = keras.layers.BatchNormalization()(inp)
    h = keras.layers.Dense(8, activation="sigmoid")(h)
    h = keras.layers.BatchNormalization()(h)
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    return keras.Model(inp, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--steps-per-epoch", type=int, default=313)
    ap.add_argument("--seed", type=int, default=18)
    args = ap.parse_args()

    keras.utils.set_random_seed(args.seed)
    x_train = np.random.normal(0.0, 1.0, size=(10000, 1))
    y_train = (x_train > 0).astype(np.float64)
    x_val = np.random.normal(0.0, 1.0, size=(100, 1))
    y_val = (x_val > 0).astype(np.float64)

    ds = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
          .shuffle(10000, seed=args.seed).repeat().batch(32).prefetch(2))
    val = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(32)
    model = seed_model()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])

    t0 = time.perf_counter()
    hist = model.fit(ds, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                     validation_data=val, verbose=0)
    seconds = time.perf_counter() - t0
    acc = float(hist.history["accuracy"][-1])
    log(f"fit: {args.epochs} x {args.steps_per_epoch} steps in {seconds:.2f}s, final accuracy {acc:.4f}")
    print(json.dumps({"seed_fit": {"value": round(seconds, 3), "unit": "s", "epochs": args.epochs,
                                   "steps_per_epoch": args.steps_per_epoch,
                                   "final_accuracy": round(acc, 4)}}))


if __name__ == "__main__":
    main()
