"""Keras peer for the digits classifier: test accuracy of a small BN network on fixtures/digits/digits.h5.

Model: Input(64) -> Dense(64) -> BatchNormalization -> Activation(relu) -> Dropout(0.2) -> Dense(10, softmax),
Keras defaults everywhere else (Glorot kernels, BN momentum 0.99 / epsilon 1e-3).
Training: Adam (defaults, lr 1e-3), sparse categorical crossentropy, metrics=["accuracy"],
model.fit(x_train, y_train, batch_size=32, epochs=50, shuffle=True, validation_data=(x_val, y_val),
          callbacks=[EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)]).
Test accuracy / loss are from model.evaluate on /split/test (inference mode: BN moving statistics,
no Dropout). Each seed calls keras.utils.set_random_seed(seed) before building the model.

Prints ONE JSON object on stdout (per seed: test_accuracy, test_loss, epochs_run, best_epoch,
best_val_loss, fit_seconds; plus mean / std / min / max of test accuracy); logs go to stderr.

    TF_CPP_MIN_LOG_LEVEL=2 python3 Benchmarks/peers/digits_keras.py [--seeds 0 1 2] [--data fixtures/digits/digits.h5]
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import keras  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def load(path):
    with h5py.File(path, "r") as f:
        x, y = f["x"][()], f["y"][()]
        return {name: (x[f["split"][name][()]], y[f["split"][name][()]]) for name in ("train", "validation", "test")}


def build():
    inp = keras.Input(shape=(64,))
    h = keras.layers.Dense(64)(inp)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.Activation("relu")(h)
    h = keras.layers.Dropout(0.2)(h)
    out = keras.layers.Dense(10, activation="softmax")(h)
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def run_seed(seed, data, epochs, patience):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = build()
    (xt, yt), (xv, yv), (xs, ys) = data["train"], data["validation"], data["test"]
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    t0 = time.perf_counter()
    hist = model.fit(xt, yt, batch_size=32, epochs=epochs, shuffle=True, validation_data=(xv, yv),
                     callbacks=[stop], verbose=0)
    fit_s = time.perf_counter() - t0
    val_loss = hist.history["val_loss"]
    test_loss, test_acc = model.evaluate(xs, ys, batch_size=32, verbose=0)
    res = {"test_accuracy": float(test_acc), "test_loss": float(test_loss), "epochs_run": len(val_loss),
           "best_epoch": int(np.argmin(val_loss)) + 1, "best_val_loss": float(np.min(val_loss)),
           "best_val_accuracy": float(hist.history["val_accuracy"][int(np.argmin(val_loss))]),
           "fit_seconds": round(fit_s, 2)}
    log(f"seed {seed}: {res}")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--data", default=os.path.join(ROOT, "fixtures", "digits", "digits.h5"))
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--patience", type=int, default=5)
    args = ap.parse_args()
    data = load(args.data)
    log({k: v[0].shape for k, v in data.items()})
    per_seed = {str(s): run_seed(s, data, args.epochs, args.patience) for s in args.seeds}
    acc = np.array([r["test_accuracy"] for r in per_seed.values()])
    out = {"digits_keras": {
        "keras_version": keras.__version__,
        "model": "Input(64)-Dense(64)-BN-relu-Dropout(0.2)-Dense(10,softmax)",
        "training": f"Adam(1e-3), sparse CE, batch 32, <= {args.epochs} epochs, "
                    f"EarlyStopping(val_loss, patience {args.patience}, restore_best_weights)",
        "split_sizes": {k: int(v[0].shape[0]) for k, v in data.items()},
        "seeds": per_seed,
        "test_accuracy": {"mean": float(acc.mean()), "std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                          "min": float(acc.min()), "max": float(acc.max()), "unit": "fraction"}}}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
