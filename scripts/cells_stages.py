#!/usr/bin/env python3
"""Where a cross-cell message's time goes. Arguments: the generator's timeline ("k ok_ms
last_delivery_ms", monotonic ms from the first post), then two files of "content|written
ms|numbered ms" outbox rows (the home cell's, the replica cell's), the content being "fanout k".
The generator's clock is matched to the databases' by the least gap between a REST 200 and its
row's transaction start (the 200 comes after it), so the first and last stages hold that error."""
import sys


def outbox(path):
    rows = {}
    for line in open(path):
        parts = line.strip().split("|")
        if len(parts) == 3 and parts[2] and parts[0].startswith("fanout "):
            rows[int(parts[0].split()[1])] = (float(parts[1]), float(parts[2]))
    return rows


def main(timeline_path, home_path, replica_path):
    timeline = {}
    for line in open(timeline_path):
        k, ok, last = line.split()
        if last != "-":
            timeline[int(k)] = (float(ok), float(last))
    home, replica = outbox(home_path), outbox(replica_path)
    ks = [k for k in timeline if k in home and k in replica]
    if not ks:
        print("stages: no message seen in both outboxes")
        return
    offset = min(timeline[k][0] - home[k][0] for k in ks)
    stages = [
        ("home: written → numbered (group commit, sequencer)", lambda k: home[k][1] - home[k][0]),
        ("relay: home numbered → replica's transaction starts", lambda k: replica[k][0] - home[k][1]),
        ("replica: its transaction → numbered (apply, sequencer)", lambda k: replica[k][1] - replica[k][0]),
        ("far edge: numbered → last session has it", lambda k: timeline[k][1] - offset - replica[k][1]),
        ("all: REST 200 → last session has it", lambda k: timeline[k][1] - timeline[k][0]),
    ]
    for name, stage in stages:
        xs = sorted(stage(k) for k in ks)
        print(f"stage {name}: p50 {xs[len(xs) // 2]:.1f} ms, p90 {xs[int(len(xs) * 0.9)]:.1f}, p99 {xs[int(len(xs) * 0.99)]:.1f}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
