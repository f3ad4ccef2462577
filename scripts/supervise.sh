#!/usr/bin/env bash
# supervise.sh LOGFILE STATEFILE COMMAND...: runs COMMAND and starts it again whenever it dies,
# waiting 1, 2, 4 … up to 30 s between starts (reset after a minute of running). Each start
# and exit is logged; STATEFILE holds "restarts last-exit-status" for `make status`. SIGTERM
# stops the command (and waits for it) and then this loop.
set -uo pipefail
log_file=$1 state_file=$2
shift 2
child=""
stopping=0
stop() {
  stopping=1
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null
}
trap stop TERM INT
restarts=0 delay=1
echo "0 -" > "$state_file"
while [ "$stopping" -eq 0 ]; do
  started=$(date +%s)
  echo "$(date -u +%FT%TZ) supervisor: starting $*" >> "$log_file"
  "$@" >> "$log_file" 2>&1 &
  child=$!
  wait "$child"; status=$?
  # A signal to this script interrupts `wait`; wait again for the command itself to finish.
  while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done
  [ "$stopping" -eq 1 ] && break
  restarts=$((restarts + 1))
  echo "$restarts $status" > "$state_file"
  if [ $(( $(date +%s) - started )) -ge 60 ]; then delay=1; fi
  echo "$(date -u +%FT%TZ) supervisor: exited with status $status; restart $restarts in ${delay}s" >> "$log_file"
  sleep "$delay" & wait $! 2>/dev/null
  delay=$(( delay * 2 > 30 ? 30 : delay * 2 ))
done
echo "$(date -u +%FT%TZ) supervisor: stopped" >> "$log_file"
