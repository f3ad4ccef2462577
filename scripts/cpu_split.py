#!/usr/bin/env python3
"""Where a benchmark stage's CPU went, per process role, as milliseconds of CPU per request.

`cpu_split.py snapshot FILE ROLE=PID...` records the CPU time (user + system) of each named pid,
of every PostgreSQL and Redis process, and of the whole machine. `cpu_split.py report FILE
REQUESTS ROLE=PID...` takes a second reading and prints each role's share: the load generator (unless
a role is named "load generator") and anything else on the machine is what is left of the
machine's busy time.
"""
import json
import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def process_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # Fields after the command: state is [0]; utime and stime are the 14th and 15th overall.
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def command(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def machine_busy():
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values[:8]) - idle


def reading(roles):
    out = {"machine": machine_busy(), "postgres": 0, "redis": 0}
    for role, pid in roles:
        out[role] = process_ticks(pid)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        name = command(pid)
        if name.startswith("postgres"):
            out["postgres"] += process_ticks(pid)
        elif name.startswith("redis-server"):
            out["redis"] += process_ticks(pid)
    return out


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "snapshot":
        roles = [a.split("=", 1) for a in sys.argv[3:]]
        with open(path, "w") as f:
            json.dump(reading(roles), f)
        return
    requests = max(1, int(sys.argv[3]))
    roles = [a.split("=", 1) for a in sys.argv[4:]]
    with open(path) as f:
        before = json.load(f)
    after = reading(roles)
    used = {k: (after[k] - before.get(k, 0)) * 1000 / TICK for k in after}
    named = sum(v for k, v in used.items() if k != "machine")
    # With the load generator named among the roles, what is left is everything else.
    leftover = "rest" if "load generator" in used else "load generator and rest"
    used[leftover] = max(0, used["machine"] - named)
    parts = ", ".join(f"{k} {v / requests:.2f}" for k, v in used.items() if k != "machine")
    print(f"CPU per request (ms): {parts}; machine {used['machine'] / requests:.2f}")


if __name__ == "__main__":
    main()
