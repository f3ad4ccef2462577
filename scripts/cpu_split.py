#!/usr/bin/env python3
"""Where a benchmark stage's CPU went, per process role, as milliseconds of CPU per request.

`cpu_split.py snapshot FILE ROLE=PID...` records the CPU time (user + system) of each named pid,
of every PostgreSQL and Redis process, and of the whole machine. `cpu_split.py report FILE
REQUESTS ROLE=PID...` takes a second reading and prints each role's share: the load generator (unless
a role is named "load generator") and anything else on the machine is what is left of the
machine's busy time. It also prints how many of the machine's cores were busy over the stage, so a
latency taken on a saturated machine says so. Then the named processes' thread switches per
request (voluntary and forced, over all their threads): a process whose work hops between its
own threads, each hop a wake-up, shows it there.
"""
import json
import os
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def process_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # Fields after the command: state is [0]; utime and stime are the 14th and 15th overall.
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


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


def switches(pid):
    """Context switches of all of a process's threads so far (None once it has gone)."""
    total = 0
    try:
        for thread in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{thread}/status") as f:
                    for line in f:
                        if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                            total += int(line.split()[-1])
            except (OSError, ValueError):
                pass
    except OSError:
        return None
    return total


def reading(roles):
    out = {"machine": machine_busy(), "postgres": 0, "redis": 0, "at": time.monotonic(), "switches": {}}
    # A role whose process has gone (the load generator, read after it exits) is left out: its
    # share is counted with the rest.
    for role, pid in roles:
        ticks = process_ticks(pid)
        if ticks is not None:
            out[role] = ticks
        count = switches(pid)
        if count is not None:
            out["switches"][role] = count
    for pid in filter(str.isdigit, os.listdir("/proc")):
        name = command(pid)
        if name.startswith("postgres"):
            out["postgres"] += process_ticks(pid) or 0
        elif name.startswith("redis-server"):
            out["redis"] += process_ticks(pid) or 0
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
    started = before.pop("at", None)
    elapsed = after.pop("at") - started if started is not None else 0
    switched_before, switched_after = before.pop("switches", {}), after.pop("switches")
    used = {k: (after[k] - before[k]) * 1000 / TICK for k in after if k in before}
    named = sum(v for k, v in used.items() if k != "machine")
    # With the load generator named among the roles, what is left is everything else.
    leftover = "rest" if "load generator" in used else "load generator and rest"
    used[leftover] = max(0, used["machine"] - named)
    parts = ", ".join(f"{k} {v / requests:.2f}" for k, v in used.items() if k != "machine")
    busy = f" (busy {used['machine'] / 1000 / elapsed:.2f} of {os.cpu_count()} cores)" if elapsed > 0 else ""
    print(f"CPU per request (ms): {parts}; machine {used['machine'] / requests:.2f}{busy}")
    switched = [f"{role} {(switched_after[role] - switched_before[role]) / requests:.2f}"
                for role in switched_after if role in switched_before and role != "load generator"]
    if switched:
        print(f"thread switches per request: {', '.join(switched)}")


if __name__ == "__main__":
    main()
