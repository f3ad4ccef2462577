#!/usr/bin/env python3
"""Prints `make bench-peers`' results (fanbench's JSON lines) side by side: per run, the figures
issue 16 judges fan-out by; when a run was repeated (BENCH_PEERS_ROUNDS), each figure's median and
the median of Concord's ratio to nchan within each round (runs minutes apart on a noisy machine
compare best side by side). Usage: peers_table.py RESULTS.jsonl"""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
header = f"{'run':<18} {'joined':>6} {'join s':>7} {'sent/s':>7} {'deliveries/s':>13} {'lost':>7} {'p50 ms':>9} {'p99 ms':>9} " \
         f"{'server µs/delivery':>19} {'client µs/delivery':>19} {'server MB idle/joined/peak':>27} {'foreign cores':>13}"
print(header)
def per_delivery(r):
    delivered = r['deliveries'] or 0
    return r['server_cpu_s']['send_phase'] * 1e6 / delivered if delivered else None


for r in rows:
    delivered = r['deliveries'] or 0
    per = lambda seconds: f"{seconds * 1e6 / delivered:.1f}" if delivered else "-"
    rss = r['server_rss_mb']
    sent = r['send'].get('send_rate_per_s')
    print(f"{r['label']:<18} {r['joined']:>6} {r['join_s']:>7} {round(sent) if sent else '-':>7} {r['deliveries_per_s'] or '-':>13} {r['lost']:>7} "
          f"{r['lat_ms']['50'] or '-':>9} {r['lat_ms']['99'] or '-':>9} {per(r['server_cpu_s']['send_phase']):>19} "
          f"{per(r['client_recv_cpu_send_phase_s']):>19} {str(rss['idle']) + '/' + str(rss['joined']) + '/' + str(rss['peak_during_send']):>27} "
          f"{r['foreign_cores']:>13}")
    errors = r['join_errors'][:1] + r['worker_errors'][:1] + ([r['send']['error']] if r['send'].get('error') else [])
    if errors:
        print(f"  errors: {errors}")

labels = list(dict.fromkeys(r['label'] for r in rows))
if any(sum(r['label'] == label for r in rows) > 1 for label in labels):
    figures = {'deliveries/s': lambda r: r['deliveries_per_s'], 'p99 ms': lambda r: r['lat_ms']['99'],
               'server µs/delivery': per_delivery}
    print("medians over the rounds:")
    for label in labels:
        runs = [r for r in rows if r['label'] == label]
        parts = []
        for name, figure in figures.items():
            values = [v for v in map(figure, runs) if v is not None]
            parts.append(f"{name} {statistics.median(values):.1f}" if values else f"{name} -")
        print(f"  {label:<18} ({len(runs)} runs): " + ", ".join(parts))
    for label in labels:
        if not label.startswith("concord "):
            continue
        peer = "nchan " + label.removeprefix("concord ")
        pairs = zip([r for r in rows if r['label'] == label], [r for r in rows if r['label'] == peer])
        ratios = [(a, b) for a, b in ((per_delivery(c), per_delivery(n)) for c, n in pairs) if a and b]
        if ratios:
            print(f"  {label}: server µs/delivery over nchan's in the same round, median {statistics.median(a / b for a, b in ratios):.2f}"
                  f" ({', '.join(f'{a / b:.2f}' for a, b in ratios)})")
