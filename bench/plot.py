#!/usr/bin/python3
"""Plots bench results (the CSV `bench/run_bench.sh --csv FILE` appends to) as bench/throughput.png:
left, Gbit/s against the number of rules (one worker); right, Gbit/s against workers (at the
rule count most measured with several workers). Eastwatch warm (the Hyperscan cache of a
restart) and cold (every database compiled: start-up included, as in the table), and the raw
Hyperscan block scan of the same bytes measured in the same run, on the same axes.

usage: bench/plot.py [CSV] [PNG]   (defaults: bench/throughput.csv, bench/throughput.png)
Needs python3-matplotlib (Debian); no test runs it.
"""
import csv
import os
import sys
from collections import Counter, defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def load(path):
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if not row["rules"].isdigit():
                continue  # ET Open rows: not a point on the rule-count axis
            row["rules"] = int(row["rules"])
            row["workers"] = int(row["workers"])
            for key in ("gbps", "raw_gbps", "wall_s"):
                row[key] = float(row[key])
            rows.append(row)
    return rows


def series(rows, axis, where):
    """{start: [(x, gbps)]} and [(x, raw_gbps)], the best of the rows at each x."""
    best = defaultdict(dict)
    raw = {}
    for row in rows:
        if not where(row):
            continue
        x = row[axis]
        best[row["start"]][x] = max(best[row["start"]].get(x, 0.0), row["gbps"])
        raw[x] = max(raw.get(x, 0.0), row["raw_gbps"])
    return {start: sorted(points.items()) for start, points in best.items()}, sorted(raw.items())


def panel(ax, lines, raw, xlabel, log_x):
    styles = {"warm": ("o-", "eastwatch, warm start"), "cold": ("s--", "eastwatch, cold start")}
    for start in ("warm", "cold"):
        if start in lines:
            xs, ys = zip(*lines[start])
            ax.plot(xs, ys, styles[start][0], label=styles[start][1])
    if raw:
        xs, ys = zip(*raw)
        ax.plot(xs, ys, "^:", color="grey", label="raw Hyperscan scan, 1 thread (baseline)")
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Gbit/s of frames")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)


def main():
    csv_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "throughput.csv")
    png_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "throughput.png")
    rows = load(csv_path)
    if not rows:
        print(f"plot: no rows with a rule count in {csv_path}", file=sys.stderr)
        return 1
    multi = Counter(row["rules"] for row in rows if row["workers"] > 1)
    worker_rules = multi.most_common(1)[0][0] if multi else Counter(row["rules"] for row in rows).most_common(1)[0][0]
    by_rules = series(rows, "rules", lambda row: row["workers"] == 1)
    by_workers = series(rows, "workers", lambda row: row["rules"] == worker_rules)
    first = rows[0]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=100)
    panel(left, *by_rules, "random literal rules (1 worker)", log_x=True)
    panel(right, *by_workers, f"workers ({worker_rules} rules)", log_x=False)
    right.set_xticks(sorted({x for x, _ in by_workers[1]}))
    fig.suptitle(f"eastwatch -r: {first['packets']} packets, {int(first['frame_bytes']) / 1e6:.0f} MB "
                 f"({first['engine']}, {first['date']}, best of runs)", fontsize=9)
    fig.tight_layout()
    fig.savefig(png_path)
    print(f"plot: {png_path} from {len(rows)} rows of {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
