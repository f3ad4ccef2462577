#!/usr/bin/env bash
# `make stop`: stops the edges, relays and cells, then each cell's Redis and PostgreSQL. Data stays.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/services.sh
VAR="${CONCORD_VAR:-$PWD/var}"
failed=0
for pidfile in "$VAR"/pids/edge-*.pid "$VAR"/pids/relay-*.pid "$VAR"/pids/cell-*.pid "$VAR"/pids/link-*.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$(basename "$pidfile" .pid) did not stop in 15 s; killing it"
    pkill -9 -P "$pid" 2>/dev/null || true
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile" "${pidfile%.pid}.state"
done
# The servers are stopped by the path they were started with (var/data is a link to it, and a
# checkout in a directory the postgres user cannot enter would make pg_ctl refuse the link).
if [ -e "$VAR/data" ]; then
  data=$(readlink -f "$VAR/data")
  for cell in "$data"/*/; do
    [ -d "$cell" ] || continue
    stop_redis "${cell}redis" || { log "could not stop Redis in ${cell}redis"; failed=1; }
    stop_postgres "${cell}pg" || { log "could not stop PostgreSQL in ${cell}pg"; failed=1; }
  done
fi
if [ "$failed" -ne 0 ]; then log "some servers are still running"; exit 1; fi
log "stopped"
