#!/usr/bin/env bash
# `make status`: the processes `make run` supervises (up or down, restarts, last exit status),
# then the operator view of every cell.
set -euo pipefail
cd "$(dirname "$0")/.."
VAR="${CONCORD_VAR:-$PWD/var}"
printf '%-24s %-6s %-9s %s\n' PROCESS STATE RESTARTS LAST-EXIT
for pidfile in "$VAR"/pids/*.pid; do
  [ -f "$pidfile" ] || continue
  name=$(basename "$pidfile" .pid)
  state=down
  kill -0 "$(cat "$pidfile")" 2>/dev/null && state=up
  read -r restarts last < "${pidfile%.pid}.state" 2>/dev/null || { restarts=0; last=-; }
  printf '%-24s %-6s %-9s %s\n' "$name" "$state" "$restarts" "$last"
done
echo
set -a; . "$VAR/secrets.env"; set +a
"${CONCORD_BIN:-$(swift build --show-bin-path)}/concordctl" cell status --config "${CONCORD_CONFIG:-config/cluster.json}"
