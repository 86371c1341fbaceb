"""Runs the seed experiment in Batchwise (release binary) over several seeds and prints a
Markdown table of per-seed test accuracies with mean and sample standard deviation, for
docs/seed-experiment.md. Keras's numbers for the same protocol come from
Benchmarks/peers/seed_experiment_keras.py (see docs/keras-seed-experiment.md).

    swift build -c release --product batchwise
    python3 Benchmarks/seed_experiment_seeds.py [--binary .build/release/batchwise] [--seeds 18 1 2 3 7]
"""

import argparse
import json
import statistics
import subprocess

MODES = [
    ("inference_accuracy", "inference (moving)"),
    ("batch_statistics_accuracy", "batch statistics, 32"),
    ("full_batch_statistics_accuracy", "batch statistics, all 100"),
    ("recalibrated_accuracy", "re-calibrated (1,000 unlabeled rows)"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=".build/release/batchwise")
    parser.add_argument("--seeds", nargs="+", type=int, default=[18, 1, 2, 3, 7])
    args = parser.parse_args()

    runs = {}
    for seed in args.seeds:
        out = subprocess.run([args.binary, "experiment", "--seed", str(seed), "--json"],
                             check=True, capture_output=True, text=True).stdout
        runs[seed] = json.loads(out)

    print("| seed | fit (s) | " + " | ".join(label for _, label in MODES) + " | weights sha256 (first 12) |")
    print("|---|---|" + "---|" * len(MODES) + "---|")
    for seed, run in runs.items():
        cells = [f"{run[key]:.2f}" for key, _ in MODES]
        print(f"| {seed} | {run['fit_seconds']:.2f} | " + " | ".join(cells) + f" | {run['weights_sha256'][:12]} |")
    cells = []
    for key, _ in MODES:
        values = [run[key] for run in runs.values()]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        cells.append(f"{statistics.mean(values):.3f} ± {spread:.3f}")
    print("| **mean ± std** | | " + " | ".join(cells) + " | |")

    print()
    print("Shift sweep, mean over seeds:")
    print()
    print("| shift | inference | batch statistics, 32 | batch statistics, all 100 | re-calibrated |")
    print("|---|---|---|---|---|")
    shifts = [row["shift"] for row in next(iter(runs.values()))["sweep"]]
    for index, shift in enumerate(shifts):
        means = []
        for key in ["inference", "batch_statistics", "full_batch_statistics", "recalibrated"]:
            means.append(statistics.mean(run["sweep"][index][key] for run in runs.values()))
        print(f"| {shift:.1f} | " + " | ".join(f"{m:.3f}" for m in means) + " |")


if __name__ == "__main__":
    main()
