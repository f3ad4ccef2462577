#!/usr/bin/env python3
"""Compares two builds on one benchmark: runs `scripts/bench.sh` with each build's binaries
(BENCH_BIN) in turn, A B B A A B ..., so both see the same minutes of a noisy machine and each
goes first as often (an A/B and its reverse once disagreed by 15%), then prints each figure's
runs, medians and the ratio of B's median to A's. Each run's whole output is kept in
`.build/bench-ab/TARGET-roundN-A.txt` (and -B).

    scripts/bench_ab.py DIR_A DIR_B [--target fanout] [--rounds 2]

DIR_A and DIR_B each hold `concord`, `concordctl` and `concord-bench` (copies of
`.build/release/` taken after building each version). Other BENCH_* variables pass through.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

# (label, pattern): each group of a match is one figure, named by the label's comma-separated
# parts after the colon; a pattern matching several lines of a run (one per rate, per session
# count, per compression) numbers them in order.
FIGURES = [
    ("sends/s unpaced", r"sends, \d+ clients unpaced: .*= ([\d.]+) req/s"),
    ("pgbench tx/s", r"^pgbench, .*: ([\d.]+) tx/s"),
    ("sends / pgbench", r"raw database rate: ([\d.]+)"),
    ("sends / pgbench, 64 clients", r"raw database rate, \d+ clients each: ([\d.]+)"),
    ("send ms: postgres, cell, edge, rest, machine",
     r"CPU per request \(ms\): postgres ([\d.]+),.* cell ([\d.]+), edge ([\d.]+), load generator and rest ([\d.]+); machine ([\d.]+)"),
    ("paced sends ms: p50, p99", r"sends, \d+ clients paced to \d+/s: .* p50 ([\d.]+) ms, p99 ([\d.]+) ms"),
    ("send ms: load generator", r"load generator CPU per request: ([\d.]+) ms"),
    ("send thread switches: cell, edge", r"^thread switches per request: cell ([\d.]+), edge ([\d.]+)"),
    ("cells thread switches: cell-1, edge-1, cell-2, relay-2", r"^cells: thread switches per message: cell-1 ([\d.]+), edge-1 ([\d.]+), cell-2 ([\d.]+),.* relay-2 ([\d.]+)"),
    ("identify ms: postgres, cell, edge, machine", r"identify: CPU per session \(ms\): postgres ([\d.]+),.* cell ([\d.]+), edge ([\d.]+),.* machine ([\d.]+)"),
    ("sessions ready (s)", r"^fan-out: \d+/\d+ sessions ready in ([\d.]+) s"),
    ("KB per idle session", r"= ([\d.]+) KB per idle session \(each"),
    ("edge µs per delivery", r"edge CPU per delivery: ([\d.]+) µs"),
    ("delivery from the 200 ms: p50, p99", r"delivery latency from the REST 200: p50 ([\d.]+) ms, p99 ([\d.]+) ms"),
    ("concord flood: join s, deliveries/s, p99 ms, server µs/delivery", r"peers: concord flood +\d+ +([\d.]+) +\d+ +([\d.]+) +\d+ +[\d.]+ +([\d.]+) +([\d.]+)"),
    ("concord paced: p50 ms, p99 ms, server µs/delivery", r"peers: concord paced +\d+ +[\d.]+ +\d+ +[\d.]+ +\d+ +([\d.]+) +([\d.]+) +([\d.]+)"),
    ("concord 10k paced: join s, p50 ms, p99 ms, server µs/delivery", r"peers: concord 10k-paced +\d+ +([\d.]+) +\d+ +[\d.]+ +\d+ +([\d.]+) +([\d.]+) +([\d.]+)"),
    ("nchan 10k paced: join s, p50 ms, p99 ms, server µs/delivery", r"peers: nchan 10k-paced +\d+ +([\d.]+) +\d+ +[\d.]+ +\d+ +([\d.]+) +([\d.]+) +([\d.]+)"),
    ("nchan flood: server µs/delivery", r"peers: nchan flood +\d+ +[\d.]+ +\d+ +[\d.]+ +\d+ +[\d.]+ +[\d.]+ +([\d.]+)"),
    ("nchan paced: server µs/delivery", r"peers: nchan paced +\d+ +[\d.]+ +\d+ +[\d.]+ +\d+ +[\d.]+ +[\d.]+ +([\d.]+)"),
    ("far write ms: p50, p99", r"far write, .*latency p50 ([\d.]+) ms, p99 ([\d.]+) ms"),
    ("relay ms: page read, apply, events per apply", r"relay into cell 2: \d+ pages read \(mean ([\d.]+) ms\), \d+ applied \(mean ([\d.]+) ms\), ([\d.]+) events"),
    ("cells ms per message: postgres, cell-1, cell-2, machine",
     r"cells: CPU per message \(ms\): postgres ([\d.]+),.* cell-1 ([\d.]+),.* cell-2 ([\d.]+),.*; machine ([\d.]+)"),
    ("cells ms per message: edge-1, edge-2", r"cells: CPU per message \(ms\):.* edge-1 ([\d.]+),.* edge-2 ([\d.]+)"),
    ("cells: cores busy", r"cells: CPU per message \(ms\):.*\(busy ([\d.]+) of"),
    ("replication lag ms: p50, p99", r"replication lag \(.*\): p50 ([\d.]+) ms, p99 ([\d.]+) ms"),
    ("hops per request", r"hops per request .* = ([\d.]+)"),
]


def figures(output):
    """Label → values of one run, in the order they were printed."""
    found = {}
    for label, pattern in FIGURES:
        matches = [m for line in output.splitlines() if (m := re.search(pattern, line))]
        for index, match in enumerate(matches):
            name = label if len(matches) == 1 else f"{label} #{index + 1}"
            found[name] = [float(g) for g in match.groups()]
    return found


def columns(label, width):
    """The name of each figure a label's pattern gives: "send ms: cell, edge" → "send ms: cell", …"""
    if width == 1:
        return [label]
    head, _, parts = label.partition(": ")
    names = parts.split(", ")
    number = re.search(r" #\d+$", label)
    suffix = number.group(0) if number else ""
    names[-1] = names[-1].removesuffix(suffix)
    return [f"{head}: {name}{suffix}" for name in names]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--target", default="fanout", help="BENCH_ONLY: sends, fanout, peers, cells, ...")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    runs = {"A": [], "B": []}
    # Each run's whole output stays, for the figures no pattern here reads.
    kept = os.path.join(".build", "bench-ab")
    os.makedirs(kept, exist_ok=True)
    for round_number in range(args.rounds):
        order = (("A", args.a), ("B", args.b))
        for name, directory in (order if round_number % 2 == 0 else order[::-1]):
            env = dict(os.environ, BENCH_BIN=os.path.abspath(directory), BENCH_ONLY=args.target)
            print(f"== round {round_number + 1}, {name} ({directory})", flush=True)
            done = subprocess.run(["scripts/bench.sh"], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                sys.stderr.write(done.stdout[-2000:] + done.stderr[-2000:])
                sys.exit(f"bench.sh failed for {name}")
            with open(os.path.join(kept, f"{args.target}-round{round_number + 1}-{name}.txt"), "w") as out:
                out.write(done.stdout)
            runs[name].append(figures(done.stdout))
    labels = [label for label in runs["A"][0] if all(label in run for run in runs["A"] + runs["B"])]
    print(f"\n{'figure':58} {'A runs':>22} {'B runs':>22} {'A median':>10} {'B median':>10} {'B/A':>6}")
    for label in labels:
        width = len(runs["A"][0][label])
        for column, name in enumerate(columns(label, width)):
            a = [run[label][column] for run in runs["A"]]
            b = [run[label][column] for run in runs["B"]]
            ma, mb = statistics.median(a), statistics.median(b)
            ratio = f"{mb / ma:.2f}" if ma else "-"
            print(f"{name:58} {' '.join(f'{v:g}' for v in a):>22} {' '.join(f'{v:g}' for v in b):>22} {ma:>10g} {mb:>10g} {ratio:>6}")


if __name__ == "__main__":
    main()
