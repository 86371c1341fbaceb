#!/usr/bin/env python3
"""One line per `batchwise-bench distributed --json` report and mode: 1-rank and 2-rank
samples/s, the scaling (with the per-slice range), the share of the step in communication, the
work per rank (2 ranks / 1 rank, CPU ms outside the collectives), how many slices met issue
16's targets (>= 1.7x and <= 15 %), and OK when the combined run met both.

    python3 Benchmarks/distributed_summary.py run-*.json
"""
import json
import sys


def row(rows, name):
    return next((r for r in rows if r["workload"] == name), {})


def summary(path):
    rows = json.load(open(path))
    load = next((r["batchwise"] for r in rows if r["workload"].startswith("load average")), None)
    parts = [path.split("/")[-1], f"load {load:.2f}" if load is not None else "load ?"]
    for mode in ("fast", "ordered"):
        name = f"bn_mlp_fit_{mode}_batch_256"
        one = row(rows, f"{name}_1_rank").get("batchwise", 0)
        two = row(rows, f"{name}_2_ranks (peer: 1 rank)")
        share = row(rows, f"{name}_2_ranks_communication_share").get("batchwise", 0)
        work = row(rows, f"{name}_2_ranks_work_per_rank (CPU outside collectives, peer: 1 rank)")
        lowest = row(rows, f"{name}_2_ranks scaling per slice (lowest)").get("batchwise", 0)
        highest = row(rows, f"{name}_2_ranks scaling per slice (highest)").get("batchwise", 0)
        slices = next((r["batchwise"] for r in rows if r["workload"].startswith(f"{name}_2_ranks slices meeting")), None)
        scaling = two.get("ratio", 0)
        met = "OK" if scaling >= 1.7 and share <= 15 else "--"
        parts.append(f"{mode}: 1r {one / 1e3:.1f}k 2r {two.get('batchwise', 0) / 1e3:.1f}k x{scaling:.2f} "
                     f"[{lowest:.2f}-{highest:.2f}] share {share:.1f}% work {work.get('batchwise', 0):.2f}/"
                     f"{work.get('peer', 0):.2f}ms slices {slices if slices is None else int(slices)} {met}")
    return " | ".join(parts)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        try:
            print(summary(path))
        except (OSError, ValueError, KeyError) as error:
            print(f"{path}: unreadable ({error})")
