#!/usr/bin/env python3
"""The relay's lag per message: its commit time in the destination's database minus its commit
time in the source's. Arguments: two files of "id|commit ms" lines (home cell, replica cell)."""
import sys


def commits(path):
    rows = {}
    for line in open(path):
        parts = line.strip().split("|")
        if len(parts) == 2 and parts[1]:
            rows[parts[0]] = float(parts[1])
    return rows


def main(home_path, replica_path):
    home, replica = commits(home_path), commits(replica_path)
    lags = sorted(replica[i] - home[i] for i in home if i in replica)
    if not lags:
        print("replication lag: no message committed in both cells")
        return
    def pct(p):
        return lags[min(len(lags) - 1, int(len(lags) * p))]
    print(f"replication lag (commit in cell 2 after commit in cell 1, {len(lags)} of {len(home)} messages): "
          f"p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, max {lags[-1]:.1f} ms")


if __name__ == "__main__":
    main(*sys.argv[1:3])
