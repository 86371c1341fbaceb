"""Keras peer for `batchwise-bench layers`'s mlp_adamw_ema row: layers_peer.py's mlp workload
(784-256-256-10 BN MLP, sparse categorical CE, batch 128, 8 pre-built random batches,
`train_on_batch` for `--seconds` after `--warmup` steps) compiled with
AdamW(learning_rate=0.001, weight_decay=0.004, global_clipnorm=1.0, use_ema=True, ema_momentum=0.99),
the optimizer settings of the Batchwise row.

Prints ONE JSON object on stdout, logs on stderr:
  {"mlp_adamw_ema": {"value": <samples/s>, "unit": "samples/s", "steps": n, "seconds": t}}

    TF_CPP_MIN_LOG_LEVEL=2 python3 Benchmarks/peers/layers_adamw_peer.py [--seconds 5] [--warmup 20]
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layers_peer  # noqa: E402  (sets TF_CPP_MIN_LOG_LEVEL, imports keras)
import numpy as np  # noqa: E402
import keras  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="timed seconds")
    ap.add_argument("--warmup", type=int, default=20, help="untimed steps")
    args = ap.parse_args()

    keras.utils.set_random_seed(0)
    model = layers_peer.mlp()
    model.compile(optimizer=keras.optimizers.AdamW(learning_rate=0.001, weight_decay=0.004, global_clipnorm=1.0,
                                                   use_ema=True, ema_momentum=0.99),
                  loss="sparse_categorical_crossentropy")
    steps, t, _cpu = layers_peer.measure(model, layers_peer.batches("mlp", np.random.default_rng(0)), args.seconds, args.warmup)
    layers_peer.log(f"mlp_adamw_ema: {steps} steps in {t:.2f}s")
    print(json.dumps({"mlp_adamw_ema": {"value": round(steps * 128 / t, 1), "unit": "samples/s", "steps": steps,
                                        "seconds": round(t, 3)}}))


if __name__ == "__main__":
    main()
