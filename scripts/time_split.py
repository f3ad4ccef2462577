#!/usr/bin/env python3
"""Where a benchmark stage's requests spent their time, from the processes' own metrics.

`time_split.py snapshot FILE EDGE_METRICS_URL CELL_METRICS_URL` keeps both scrapes;
`time_split.py report FILE EDGE_METRICS_URL CELL_METRICS_URL` scrapes again and prints, as
milliseconds per request of the busiest route: the edge's whole request, its call to the cell,
the cell's own request, and the cell's waits for a database connection, its statements and its
Redis round trips (these three summed over everything the cell did, divided by the requests).
What the edge's request takes beyond its call is the edge's own work; what the call takes
beyond the cell's request is the link and the two processes' event loops.

`time_split.py identify FILE EDGE_METRICS_URL CELL_METRICS_URL` prints instead the average of
each step of the IDENTIFYs since the snapshot, as the edge timed them.
"""
import json
import re
import sys
import urllib.request

LINE = re.compile(r'^([a-z_]+)(?:\{([^}]*)\})? ([0-9.eE+-]+)$')


def scrape(url):
    """{(name, labels): value} for every sample."""
    samples = {}
    with urllib.request.urlopen(url, timeout=5) as response:
        for line in response.read().decode().splitlines():
            match = LINE.match(line)
            if match:
                samples[(match.group(1), match.group(2) or "")] = float(match.group(3))
    return samples


def delta(before, after, name, labels=None):
    """The change of one metric, summed over its label sets (or only `labels`)."""
    total = 0.0
    for (sample, sample_labels), value in after.items():
        if sample == name and (labels is None or sample_labels == labels):
            total += value - before.get((sample, sample_labels), 0.0)
    return total


def average(before, after, name, labels=None):
    """A histogram's mean between the two readings, in milliseconds."""
    count = delta(before, after, name + "_count", labels)
    return 1000 * delta(before, after, name + "_sum", labels) / count if count else 0.0


def over(before, after, labels, milliseconds):
    """Of the requests of `labels` between the readings, the percentage that took longer than
    `milliseconds` (a bucket bound of the request-duration histogram)."""
    name = "concord_http_request_duration_seconds"
    total = delta(before, after, name + "_count", labels)
    bound = f'le="{milliseconds / 1000:g}"'
    within = sum(value - before.get((sample, sample_labels), 0.0) for (sample, sample_labels), value in after.items()
                 if sample == name + "_bucket" and bound in sample_labels and sample_labels.replace("," + bound, "").replace(bound + ",", "") == labels)
    return 100 * (total - within) / total if total else 0.0


def busiest_route(before, after):
    """The label set of the request-duration histogram that counted the most requests."""
    name = "concord_http_request_duration_seconds_count"
    counts = {labels: value - before.get((sample, labels), 0.0) for (sample, labels), value in after.items() if sample == name}
    return max(counts, key=counts.get) if counts else None


def main():
    verb, path, edge_url, cell_url = sys.argv[1:5]
    if verb == "snapshot":
        with open(path, "w") as f:
            json.dump({"edge": list(scrape(edge_url).items()), "cell": list(scrape(cell_url).items())}, f)
        return
    with open(path) as f:
        saved = json.load(f)
    edge_before = {tuple(k): v for k, v in saved["edge"]}
    cell_before = {tuple(k): v for k, v in saved["cell"]}
    edge_after, cell_after = scrape(edge_url), scrape(cell_url)
    if verb == "identify":
        print_identify_steps(edge_before, edge_after)
        return

    route = busiest_route(edge_before, edge_after)
    requests = delta(edge_before, edge_after, "concord_http_request_duration_seconds_count", route)
    if not requests:
        print("time per request: no requests counted")
        return
    cell_route = busiest_route(cell_before, cell_after)

    def per_request(before, after, name, labels=None):
        return 1000 * delta(before, after, name, labels) / requests

    parts = [
        ("edge request", average(edge_before, edge_after, "concord_http_request_duration_seconds", route)),
        ("edge's call to the cell", average(edge_before, edge_after, "concord_edge_cell_call_duration_seconds")),
        ("cell request", average(cell_before, cell_after, "concord_http_request_duration_seconds", cell_route)),
        ("cell's database connection waits", per_request(cell_before, cell_after, "concord_postgres_lease_wait_seconds_sum")),
        ("cell's statements", per_request(cell_before, cell_after, "concord_postgres_statement_duration_seconds_sum")),
        ("cell's Redis round trips", per_request(cell_before, cell_after, "concord_redis_round_trip_seconds_sum")),
    ]
    print("time per request (ms, averages): " + ", ".join(f"{name} {value:.2f}" for name, value in parts))
    # The tail as the processes saw it, against the client's percentiles: a client-side p99 far
    # above what these shares allow was spent outside the edge (the client's own threads, the kernel).
    tails = [("edge requests", edge_before, edge_after, route), ("cell requests", cell_before, cell_after, cell_route)]
    print("share of requests over 10 / 25 / 50 ms: " + "; ".join(
        f"{name} " + " / ".join(f"{over(before, after, labels, ms):.2f}%" for ms in (10, 25, 50))
        for name, before, after, labels in tails))


def print_identify_steps(before, after):
    name = "concord_gateway_identify_step_seconds"
    steps = []
    for (sample, labels), value in after.items():
        step = re.search(r'step="([a-z_]+)"', labels)
        if sample == name + "_count" and step and delta(before, after, sample, labels):
            steps.append((step.group(1), average(before, after, name, labels)))
    order = ["verify", "session_start", "ready_states", "send", "subscribe", "presence", "read_back"]
    steps.sort(key=lambda s: order.index(s[0]) if s[0] in order else len(order))
    print("identify: time per session (ms, averages, one step after another): "
          + ", ".join(f"{step} {ms:.2f}" for step, ms in steps))


if __name__ == "__main__":
    main()
