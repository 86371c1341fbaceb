"""The classic BatchNormalization "seed experiment" in Keras 3, reported per seed as JSON.

For every seed (default 18 1 2 3 7):
  1. keras.utils.set_random_seed(seed); x_train ~ N(0, 1), 10,000 rows float64, label x > 0;
     validation 100 rows from the same distribution; test 100 rows x ~ N(2, 1), label x > 2
     (drawn in that order from numpy's global generator).
  2. Model Input(1) -> BN -> Dense(8, sigmoid) -> BN -> Dense(1, sigmoid), Adam (defaults),
     binary crossentropy, metrics=["accuracy"]; fit on
     from_tensor_slices -> shuffle(10000, seed) -> repeat -> batch(32) -> prefetch(2),
     epochs x steps_per_epoch (default 10 x 313), validation_data batched 32, verbose=0.
  3. Accuracy (prediction p > 0.5) on the test set, three ways:
       inference            model.predict (moving statistics)
       batch32_statistics   model(xb, training=True) per batch of 32 (32, 32, 32, 4 rows), each on
                            a clone reset to the trained weights, so the moving stats never change
       fullbatch_statistics model(x_test, training=True) with all 100 rows as one batch (clone)
     plus `rule_x_gt_0`: accuracy of the rule "x > 0" the net learned on the training data.
  4. Shift sweep: for shift in 0, 0.5, 1, 1.5, 2, 3 a fresh 100-row set x ~ N(shift, 1) with label
     x > shift (from np.random.default_rng(seed + 1000), in that order), same three accuracies.

Prints ONE JSON object to stdout ({"config": ..., "seeds": {seed: {...}}, "summary": {...}});
logs go to stderr. Roughly 1 minute per seed on 2 shared cores.

    TF_CPP_MIN_LOG_LEVEL=2 python3 Benchmarks/peers/seed_experiment_keras.py \
        [--seeds 18 1 2 3 7] [--epochs 10] [--steps-per-epoch 313] > out.json
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

SHIFTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def seed_model():
    inp = keras.Input(shape=(1,))
    h = keras.layers.BatchNormalization()(inp)
    h = keras.layers.Dense(8, activation="sigmoid")(h)
    h = keras.layers.BatchNormalization()(h)
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    return keras.Model(inp, out)


def accuracy(p, y):
    return float(np.mean((np.asarray(p).reshape(-1) > 0.5) == (np.asarray(y).reshape(-1) > 0.5)))


def batch_stat_predictions(model, probe, x, batch):
    """Training-mode (batch statistics) predictions; probe is reset before every batch."""
    weights = model.get_weights()
    outs = []
    for start in range(0, len(x), batch):
        probe.set_weights(weights)
        outs.append(np.asarray(probe(x[start:start + batch].astype(np.float32), training=True)))
    probe.set_weights(weights)
    return np.concatenate(outs, axis=0)


def three_accuracies(model, probe, x, y):
    return {
        "inference": accuracy(model.predict(x, batch_size=32, verbose=0), y),
        "batch32_statistics": accuracy(batch_stat_predictions(model, probe, x, 32), y),
        "fullbatch_statistics": accuracy(batch_stat_predictions(model, probe, x, len(x)), y),
    }


def run_seed(seed, epochs, steps):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    x_train = np.random.normal(0.0, 1.0, size=(10000, 1))
    y_train = (x_train > 0).astype(np.float64)
    x_val = np.random.normal(0.0, 1.0, size=(100, 1))
    y_val = (x_val > 0).astype(np.float64)
    x_test = np.random.normal(2.0, 1.0, size=(100, 1))
    y_test = (x_test > 2).astype(np.float64)

    ds = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
          .shuffle(10000, seed=seed).repeat().batch(32).prefetch(2))
    val = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(32)

    model = seed_model()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    hist = model.fit(ds, epochs=epochs, steps_per_epoch=steps, validation_data=val, verbose=0)
    fit_s = time.perf_counter() - t0

    probe = keras.models.clone_model(model)
    probe.set_weights(model.get_weights())
    before = [w.copy() for w in model.get_weights()]

    result = {
        "fit_seconds": round(fit_s, 2),
        "final_train_accuracy": float(hist.history["accuracy"][-1]),
        "final_val_accuracy": float(hist.history["val_accuracy"][-1]),
        "test": three_accuracies(model, probe, x_test, y_test),
    }
    result["test"]["rule_x_gt_0"] = accuracy((x_test > 0).astype(np.float64), y_test)

    sweep_rng = np.random.default_rng(seed + 1000)
    sweep = {}
    for shift in SHIFTS:
        xs = sweep_rng.normal(shift, 1.0, size=(100, 1))
        ys = (xs > shift).astype(np.float64)
        entry = three_accuracies(model, probe, xs, ys)
        entry["rule_x_gt_0"] = accuracy((xs > 0).astype(np.float64), ys)
        sweep[str(shift)] = entry
    result["shift_sweep"] = sweep

    after = model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after)), "evaluation changed the model"
    log(f"seed {seed}: fit {fit_s:.1f}s test {result['test']}")
    return result


def mean_std(values):
    a = np.asarray(values, dtype=np.float64)
    return {"mean": round(float(a.mean()), 4), "std": round(float(a.std(ddof=1)) if len(a) > 1 else 0.0, 4)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[18, 1, 2, 3, 7])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--steps-per-epoch", type=int, default=313)
    args = ap.parse_args()

    seeds = {}
    for s in args.seeds:
        seeds[str(s)] = run_seed(s, args.epochs, args.steps_per_epoch)

    keys = ("inference", "batch32_statistics", "fullbatch_statistics", "rule_x_gt_0")
    summary = {"test": {k: mean_std([r["test"][k] for r in seeds.values()]) for k in keys},
               "shift_sweep": {str(sh): {k: mean_std([r["shift_sweep"][str(sh)][k] for r in seeds.values()])
                                         for k in keys} for sh in SHIFTS}}
    out = {
        "config": {"keras_version": keras.__version__, "tensorflow_version": tf.__version__,
                   "seeds": args.seeds, "epochs": args.epochs, "steps_per_epoch": args.steps_per_epoch,
                   "batch_size": 32, "train_rows": 10000, "test_rows": 100, "std": "sample (ddof=1)"},
        "seeds": seeds,
        "summary": summary,
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
