#!/usr/bin/env bash
# `make stop`: stops the edges, relays and cells, then each cell's Redis and PostgreSQL. Data stays.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/services.sh
VAR="$PWD/var"
for pidfile in "$VAR"/pids/edge-*.pid "$VAR"/pids/relay-*.pid "$VAR"/pids/cell-*.pid "$VAR"/pids/link-*.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
done
if [ -d "$VAR/data" ]; then
  for cell in "$VAR"/data/*/; do
    [ -d "$cell" ] || continue
    stop_redis "${cell}redis"
    stop_postgres "${cell}pg"
  done
fi
log "stopped"
