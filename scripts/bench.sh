#!/usr/bin/env bash
# `make bench`: release build, a durable PostgreSQL (fsync on) and a Redis, one cell and one
# edge on loopback; then message sends through the edge, the same inserts through pgbench,
# history reads, and gateway fan-out to 1k and 10k sessions. Prints the figures; asserts
# nothing. BENCH_ONLY=fanout runs just the fan-out (`make bench-fanout`), BENCH_ONLY=presence
# just the presence and read-state figures (`make bench-presence`), BENCH_ONLY=tiers just the
# message tiers (`make bench-tiers`), BENCH_ONLY=cells the cross-cell figures (`make bench-cells`),
# BENCH_ONLY=moves a workspace move under load (`make bench-moves`), BENCH_ONLY=permissions
# fan-out into a channel half the sessions may view against a public one (`make bench-permissions`),
# BENCH_ONLY=sends just the send path against pgbench (`make bench-sends`), BENCH_ONLY=files a
# 10 MiB file uploaded and downloaded through the edge (`make bench-files`), BENCH_ONLY=peers the
# fan-out beside nginx+nchan under one load generator (`make bench-peers`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/services.sh

# The interpreter itself, looked up once: a version manager's shim in front of `python3` costs
# a tenth of a second of CPU per call, and some calls fall inside what is measured.
PYTHON=$(python3 -c 'import sys; print(sys.executable)')
DURATION=${BENCH_SECONDS:-15}
CLIENTS=${BENCH_CLIENTS:-16}
HISTORY=${BENCH_HISTORY:-100000}
READERS=${BENCH_READERS:-8}
FANOUT_SESSIONS=${BENCH_FANOUT:-1000 10000}
FANOUT_DELIVERIES=${BENCH_FANOUT_DELIVERIES:-100000}
ONLY=${BENCH_ONLY:-all}
# Waits between looks at a file while something is measured, without a process per look (a
# `sleep` each 10 ms is ~12% of a core here, taken from what is measured): a read that times out.
exec {nap_fd}<> <(:)
nap() { read -rt "$1" -u "$nap_fd" || true; }
# Each gateway session is a socket in the edge and in the load generator.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# Every port lies below the kernel's ephemeral range (32768–60999 here): a benchmark opens
# thousands of outgoing connections, and one of them holding a server's port before the server
# binds it left a run without its edge (every receiver refused).
PG_PORT=25732 REDIS_PORT=26679 CELL_PORT=28201 EDGE_PORT=28180 CELL_ADMIN_PORT=28203 EDGE_ADMIN_PORT=28183
# A second region with its own cell and edge, for the cross-cell figures (idle otherwise).
PG2_PORT=25733 REDIS2_PORT=26680 CELL2_PORT=28202 CELL2_ADMIN_PORT=28204 EDGE2_PORT=28181 EDGE2_ADMIN_PORT=28182 RELAY2_ADMIN_PORT=28205
# BENCH_LINK_MS=D: the regions reach each other's cells (API and Redis) through delay proxies
# adding D ms each way (scripts/delay_proxy.py, as `make run` does), a link of 2·D ms round trip.
LINK1_API_PORT=28206 LINK1_REDIS_PORT=28207 LINK2_API_PORT=28208 LINK2_REDIS_PORT=28209
reached_from() {
  [ -n "${BENCH_LINK_MS:-}" ] || return 0
  printf '"reached_from": { "%s": { "api": { "host": "127.0.0.1", "port": %s }, "redis": { "host": "127.0.0.1", "port": %s } } },' "$1" "$2" "$3"
}

ensure_packages
command -v "$PG_BIN/pgbench" >/dev/null || { log "pgbench missing"; exit 1; }
# BENCH_BIN=DIR: binaries built before (concord, concordctl, concord-bench), for comparing two
# versions in alternating runs minutes apart without rebuilding between them.
if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$(cd "$BENCH_BIN" && pwd)
else
  log "building release binaries (first time: several minutes)"
  swift build -c release --product concord 2>&1 | grep -E "error|Build" | tail -1
  swift build -c release --product concordctl 2>&1 | grep -E "error|Build" | tail -1
  swift build -c release --product concord-bench 2>&1 | grep -E "error|Build" | tail -1
  BIN=$(swift build -c release --show-bin-path)
fi

root=$(mktemp -d /tmp/concord-bench.XXXXXX); chmod 755 "$root"
pids=()
# Defined before the cleanup below uses it: a run that fails early still stops everything it started.
redis_used_memory() { redis-cli -p "$REDIS_PORT" INFO memory 2>/dev/null | awk -F: '/^used_memory:/ { print $2 + 0 }' | tr -d '\r'; }
cleanup() {
  # Edge 1 stops first, alone, while the cells and Redis still run: how long its drain takes
  # (handing every session over) and what it writes into Redis are printed.
  if [ "${#pids[@]}" -gt 1 ] && kill -0 "${pids[1]}" 2>/dev/null; then
    local used_before started
    used_before=$(redis_used_memory); started=$(date +%s%N)
    kill "${pids[1]}" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "${pids[1]}" 2>/dev/null || break; sleep 0.1; done
    awk -v ns="$(( $(date +%s%N) - started ))" -v b="$used_before" -v a="$(redis_used_memory)" -v alive="$(kill -0 "${pids[1]}" 2>/dev/null && echo 1)" \
      'BEGIN { printf "edge-1 %s %.1f s after SIGTERM; its drain (sessions handed over) grew Redis by %.1f MB\n", alive ? "still running" : "stopped", ns / 1e9, (a - b) / 1048576 }'
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # A process still up 15 s after SIGTERM is named and killed, so a benchmark always ends.
  for _ in $(seq 150); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      log "did not stop within 15 s of SIGTERM, killed: $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)"
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  # A process started under a wrapper (heaptrack) is not the pid above: whatever still runs on
  # this benchmark's configuration goes too.
  pkill -9 -f "$root/cluster.json" 2>/dev/null || true
  wait 2>/dev/null || true
  { [ -z "${BENCH_KEEP_LOGS:-}" ] || cp "$root"/*.log "$BENCH_KEEP_LOGS"/ 2>/dev/null || true; }; stop_postgres "$root/pg"; stop_redis "$root/redis"; stop_postgres "$root/pg2"; stop_redis "$root/redis2"; rm -rf "$root"
}
trap cleanup EXIT

export CONCORD_TOKEN_SECRET=$(random_secret) CONCORD_INTERNAL_SECRET=$(random_secret) CONCORD_PG_PASSWORD=$(random_secret)
cat > "$root/cluster.json" <<JSON
{ "regions": ["bench", "far"],
  "cells": [{ "id": 1, "name": "bench-1", "region": "bench",
              "postgres": { "host": "127.0.0.1", "port": $PG_PORT, "database": "concord", "user": "concord" },
              "redis": { "host": "127.0.0.1", "port": $REDIS_PORT },
              "api": { "host": "127.0.0.1", "port": $CELL_PORT }, "admin": { "host": "127.0.0.1", "port": $CELL_ADMIN_PORT },
              $(reached_from far "$LINK1_API_PORT" "$LINK1_REDIS_PORT")
              "tiering": { "archive_dir": "$root/archive", "cold_after_days": 90 } },
            { "id": 2, "name": "bench-2", "region": "far",
              "postgres": { "host": "127.0.0.1", "port": $PG2_PORT, "database": "concord", "user": "concord" },
              "redis": { "host": "127.0.0.1", "port": $REDIS2_PORT },
              "api": { "host": "127.0.0.1", "port": $CELL2_PORT }, "admin": { "host": "127.0.0.1", "port": $CELL2_ADMIN_PORT },
              "relay_admin": { "host": "127.0.0.1", "port": $RELAY2_ADMIN_PORT },
              $(reached_from bench "$LINK2_API_PORT" "$LINK2_REDIS_PORT")
              "tiering": { "archive_dir": "$root/archive-2", "cold_after_days": 90 } }],
  "edges": [{ "name": "edge-1", "region": "bench", "listen": { "host": "127.0.0.1", "port": $EDGE_PORT },
              "admin": { "host": "127.0.0.1", "port": $EDGE_ADMIN_PORT }, "public_url": "http://127.0.0.1:$EDGE_PORT" },
            { "name": "edge-2", "region": "far", "listen": { "host": "127.0.0.1", "port": $EDGE2_PORT },
              "admin": { "host": "127.0.0.1", "port": $EDGE2_ADMIN_PORT }, "public_url": "http://127.0.0.1:$EDGE2_PORT" }],
  ${BENCH_PARALLEL_FANOUT:+\"gateway_parallel_fanout\": $BENCH_PARALLEL_FANOUT,}
  "rate_limits": { "requests_per_second": 1000000, "message_sends_per_5s": 1000000, "route_requests_per_5s": 1000000, "public_requests_per_second": 1000000,
                   "auth_requests_per_minute": 1000000, "logins_per_minute_per_account": 1000000,
                   "unidentified_sockets_per_address": 100000, "connections_per_address": 100000 } }
JSON
CONFIG="$root/cluster.json"
# The cross-cell figures time each message's commit in both databases (track_commit_timestamp).
commit_times=""
case "$ONLY" in all|cells) commit_times="-c track_commit_timestamp=on" ;; esac
statement_counts="${BENCH_STATEMENTS:+-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on}"
CONCORD_PG_OPTS="${CONCORD_PG_OPTS:-} $commit_times $statement_counts" start_postgres "$root/pg" "$PG_PORT" "$CONCORD_PG_PASSWORD" durable
ensure_cell_database "$root/pg" "$PG_PORT" concord concord "$CONCORD_PG_PASSWORD"
start_redis "$root/redis" "$REDIS_PORT"
CONCORD_PG_OPTS="${CONCORD_PG_OPTS:-} $commit_times $statement_counts" start_postgres "$root/pg2" "$PG2_PORT" "$CONCORD_PG_PASSWORD" durable
ensure_cell_database "$root/pg2" "$PG2_PORT" concord concord "$CONCORD_PG_PASSWORD"
start_redis "$root/redis2" "$REDIS2_PORT"
"$BIN/concordctl" migrate --config "$CONFIG" >/dev/null
# Event loops per process (CONCORD_EVENT_LOOPS): every process here shares the machine's two
# cores, and a cell or relay on one loop spares the switches between threads that hand a request's
# work back and forth (more sends/s, less CPU per send, in alternating runs; an edge's count made
# no difference to sends, and its deliveries may use both cores). BENCH_EVENT_LOOPS sets cells'
# and relays' (default 1), BENCH_EDGE_EVENT_LOOPS edges' (default 0: one per core, their default).
loops_env() { if [ "$1" = 0 ]; then echo env; else echo "env CONCORD_EVENT_LOOPS=$1"; fi; }
cell_env=$(loops_env "${BENCH_EVENT_LOOPS:-1}") edge_env=$(loops_env "${BENCH_EDGE_EVENT_LOOPS:-0}")
$cell_env "$BIN/concord" cell --config "$CONFIG" --name bench-1 --log-level warning > "$root/cell.log" 2>&1 & pids+=($!)
# BENCH_HEAPTRACK_EDGE=DIR: edge 1 runs under heaptrack (its figures of CPU and RSS are then heaptrack's too).
$edge_env ${BENCH_HEAPTRACK_EDGE:+heaptrack -o "$BENCH_HEAPTRACK_EDGE/edge"} "$BIN/concord" edge --config "$CONFIG" --name edge-1 --log-level warning > "$root/edge.log" 2>&1 & pids+=($!)
$cell_env "$BIN/concord" cell --config "$CONFIG" --name bench-2 --log-level warning > "$root/cell2.log" 2>&1 & pids+=($!)
$edge_env "$BIN/concord" edge --config "$CONFIG" --name edge-2 --log-level warning > "$root/edge2.log" 2>&1 & pids+=($!)
$cell_env "$BIN/concord" relay --config "$CONFIG" --name bench-1 --log-level warning > "$root/relay1.log" 2>&1 & pids+=($!)
$cell_env "$BIN/concord" relay --config "$CONFIG" --name bench-2 --log-level warning > "$root/relay2.log" 2>&1 & pids+=($!)
if [ -n "${BENCH_LINK_MS:-}" ]; then
  for link in "$LINK1_API_PORT $CELL_PORT" "$LINK1_REDIS_PORT $REDIS_PORT" "$LINK2_API_PORT $CELL2_PORT" "$LINK2_REDIS_PORT $REDIS2_PORT"; do
    set -- $link
    "$PYTHON" scripts/delay_proxy.py --listen "$1" --to "127.0.0.1:$2" --delay-ms "$BENCH_LINK_MS" > /dev/null 2>&1 & pids+=($!)
  done
fi
EDGE2="http://127.0.0.1:$EDGE2_PORT"
EDGE="http://127.0.0.1:$EDGE_PORT"
# Both edges answer before anything is measured: an edge that could not start (its port still
# held by an earlier run's, say) stops the benchmark here with its log, not as refused connections later.
for edge in "$EDGE edge.log" "$EDGE2 edge2.log"; do
  set -- $edge
  for _ in $(seq 100); do curl -fsS "$1/api/v10/gateway" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS "$1/api/v10/gateway" >/dev/null 2>&1 || { echo "the edge at $1 did not start; its log:" >&2; tail -20 "$root/$2" >&2; exit 1; }
done

json() { "$PYTHON" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
ctl() { "$BIN/concordctl" "$@" --config "$CONFIG" --json; }
# cell_sql PORT SQL: runs SQL as the cells' role in the database on PORT ('|' between columns).
cell_sql() { PGPASSWORD="$CONCORD_PG_PASSWORD" "$PG_BIN/psql" -h 127.0.0.1 -p "$1" -U concord -d concord -qAt -F '|' -c "$2"; }
owner_json=$(ctl user create benchowner)
OWNER=$(json 'd["id"]' <<< "$owner_json"); OWNER_TOKEN=$(json 'd["token"]' <<< "$owner_json")
guild_json=$(ctl workspace create Bench --owner "$OWNER")
GUILD=$(json 'd["id"]' <<< "$guild_json"); CHANNEL=$(json 'd["system_channel_id"]' <<< "$guild_json")
: > "$root/tokens"
for i in $(seq "$CLIENTS"); do
  bot_json=$(ctl bot create "benchbot$i" --owner "$OWNER")
  "$BIN/concordctl" member add "$GUILD" "$(json 'd["id"]' <<< "$bot_json")" --config "$CONFIG" >/dev/null
  echo "Bot $(json 'd["token"]' <<< "$bot_json")" >> "$root/tokens"
done

echo
echo "== Concord benchmark: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), PostgreSQL with fsync on"
# BENCH_PROFILE=DIR: sample the cell's and the edge's CPU during the unpaced sends (needs perf).
if [ -n "${BENCH_PROFILE:-}" ]; then
  mkdir -p "$BENCH_PROFILE"
  perf record -e cpu-clock -F 499 -g -p "${pids[0]}" -o "$BENCH_PROFILE/cell.perf" -- sleep "$DURATION" >/dev/null 2>&1 &
  perf record -e cpu-clock -F 499 -g -p "${pids[1]}" -o "$BENCH_PROFILE/edge.perf" -- sleep "$DURATION" >/dev/null 2>&1 &
fi
fanout() {
  local sessions=$1 compress=${2:-}
  local fan_json fan_guild fan_channel profiler
  [ -z "$compress" ] || echo "fan-out with $compress:"
  fan_json=$(ctl workspace create "Fanout $sessions" --owner "$OWNER")
  fan_guild=$(json 'd["id"]' <<< "$fan_json"); fan_channel=$(json 'd["system_channel_id"]' <<< "$fan_json")
  "$BIN/concordctl" bench seed-members --config "$CONFIG" --workspace "$fan_guild" --owner "$OWNER" \
    --count "$sessions" --prefix "fan${sessions}${compress}x" > "$root/fan-tokens"
  # BENCH_PROFILE_JOIN=DIR: sample the cells' and the edge's CPU while the sessions identify
  # (from the warm-up's end until all are ready, nothing after).
  rm -f "$root/joined" "$root/warmed"
  if [ -n "${BENCH_PROFILE_JOIN:-}" ]; then
    mkdir -p "$BENCH_PROFILE_JOIN"
    local until_joined="while [ ! -f '$root/joined' ]; do sleep 0.02; done"
    ( while [ ! -f "$root/warmed" ]; do nap 0.05; done
      perf record -e cpu-clock -F 999 -g -p "${pids[0]}" -o "$BENCH_PROFILE_JOIN/cell-join-$sessions.perf" -- sh -c "$until_joined" >/dev/null 2>&1 &
      perf record -e cpu-clock -F 999 -g -p "${pids[1]}" -o "$BENCH_PROFILE_JOIN/edge-join-$sessions.perf" -- sh -c "$until_joined" >/dev/null 2>&1 &
      perf record -e cpu-clock -F 999 -g -p "${pids[2]}" -o "$BENCH_PROFILE_JOIN/other-cell-join-$sessions.perf" -- sh -c "$until_joined" >/dev/null 2>&1 &
      perf record -e cpu-clock -F 499 -a -o "$BENCH_PROFILE_JOIN/all-join-$sessions.perf" -- sh -c "$until_joined" >/dev/null 2>&1 &
      wait ) &
  fi
  # BENCH_PROFILE_FANOUT=DIR: sample the cell's and the edge's CPU while they send and deliver (from the first post on).
  rm -f "$root/sending"
  if [ -n "${BENCH_PROFILE_FANOUT:-}" ]; then
    mkdir -p "$BENCH_PROFILE_FANOUT"
    ( while [ ! -f "$root/sending" ]; do nap 0.1; done
      perf record -e cpu-clock -F 499 -g -p "${pids[0]}" -o "$BENCH_PROFILE_FANOUT/cell-fanout-$sessions$compress.perf" -- sleep "$DURATION" >/dev/null 2>&1 &
      perf record -e cpu-clock -F 999 -g -p "${pids[1]}" -o "$BENCH_PROFILE_FANOUT/edge-fanout-$sessions$compress.perf" -- sleep "$DURATION" >/dev/null 2>&1
      wait ) &
    profiler=$!
  fi
  # Where the identifies' CPU goes: each process's share from the first connect to the last READY.
  local roles=("cell=${pids[0]}" "edge=${pids[1]}" "other-cell=${pids[2]}") bench
  # BENCH_FANOUT_WARMUP sessions (100) identify and leave first: the idle figure counts from after
  # them too, without the edge's one-time costs; the CPU split counts from after them only.
  "$BIN/concord-bench" fanout --edge "$EDGE" --tokens "$root/fan-tokens" --sender-token "$OWNER_TOKEN" --channel "$fan_channel" \
    --sessions "$sessions" --rate "$(awk -v d="$FANOUT_DELIVERIES" -v s="$sessions" 'BEGIN { print d / s }')" \
    --seconds "$DURATION" --edge-pid "${pids[1]}" --first-heartbeat 1 ${compress:+--compress "$compress" --quiet-reading 12} \
    --warmup "${BENCH_FANOUT_WARMUP:-100}" --warmed-file "$root/warmed" \
    --sending-file "$root/sending" --joined-file "$root/joined" ${BENCH_FANOUT_ARGS:-} & bench=$!
  roles+=("load generator=$bench")
  while [ ! -f "$root/warmed" ] && kill -0 "$bench" 2>/dev/null; do nap 0.01; done
  "$PYTHON" scripts/cpu_split.py snapshot "$root/join-cpu.json" "${roles[@]}"
  local metrics=("http://127.0.0.1:$EDGE_ADMIN_PORT/metrics" "http://127.0.0.1:$CELL_ADMIN_PORT/metrics")
  "$PYTHON" scripts/time_split.py snapshot "$root/join-times.json" "${metrics[@]}"
  local commits_before; commits_before=$(committed_transactions); redis_calls > "$root/join-calls-before"; statements_reset
  while [ ! -f "$root/joined" ] && kill -0 "$bench" 2>/dev/null; do nap 0.02; done
  if [ -f "$root/joined" ]; then
    "$PYTHON" scripts/cpu_split.py report "$root/join-cpu.json" "$sessions" "${roles[@]}" | sed -e 's/^CPU per request/identify: CPU per session/' -e 's/^thread switches per request/identify: thread switches per session/'
    "$PYTHON" scripts/time_split.py identify "$root/join-times.json" "${metrics[@]}"
    awk -v n="$(( $(committed_transactions) - commits_before ))" -v r="$sessions" \
      'BEGIN { printf "identify: the cell'"'"'s PostgreSQL transactions per session: %.2f\n", n / r }'
    redis_calls > "$root/join-calls-after"
    echo "identify: the cell's Redis commands per session:"
    redis_calls_diff "$root/join-calls-before" "$root/join-calls-after" "$sessions"
    [ -z "${BENCH_STATEMENTS:-}" ] || statements_per "$sessions" "identify: statements per session"
  fi
  # And where the deliveries' CPU goes: each process's share from the first post to the last delivery.
  while [ ! -f "$root/sending" ] && kill -0 "$bench" 2>/dev/null; do nap 0.02; done
  [ -f "$root/sending" ] && "$PYTHON" scripts/cpu_split.py snapshot "$root/send-cpu.json" "${roles[@]}" && statements_reset
  wait "$bench"
  if [ -f "$root/send-cpu.json" ]; then
    local posts; posts=$(awk -v d="$FANOUT_DELIVERIES" -v s="$sessions" -v t="$DURATION" 'BEGIN { printf "%d", d / s * t }')
    "$PYTHON" scripts/cpu_split.py report "$root/send-cpu.json" "$posts" "${roles[@]}" | sed -e 's/^CPU per request/sending: CPU per message/' -e 's/^thread switches per request/sending: thread switches per message/'
    [ -z "${BENCH_STATEMENTS:-}" ] || statements_per "$posts" "sending: statements per message"
    rm -f "$root/send-cpu.json"
  fi
  [ -z "${BENCH_PROFILE_FANOUT:-}" ] || wait "$profiler"
}
# The fan-out at 1,000 sessions again with each transport compression (BENCH_FANOUT_COMPRESS).
fanout_compressed() {
  for c in ${BENCH_FANOUT_COMPRESS-zlib-stream zstd-stream}; do fanout 1000 "$c"; done
}
redis_commands() { redis-cli -p "$REDIS_PORT" INFO stats | awk -F: '/^total_commands_processed/ { print $2 }' | tr -d '\r'; }
# Calls per Redis command, one "name count" per line.
redis_calls() { redis-cli -p "$REDIS_PORT" INFO commandstats | tr -d '\r' | sed -nE 's/^cmdstat_([a-z|]+):calls=([0-9]+).*/\1 \2/p'; }
# The calls between two snapshots, divided by $3: "name per-unit" for each command that moved.
redis_calls_diff() {
  awk -v n="$3" 'NR == FNR { before[$1] = $2; next } { d = $2 - before[$1]; if (d > 0) printf "  %-12s %10.2f\n", $1, d / n }' "$1" "$2"
}
now() { date +%s.%N; }

# Presence and read states: S idle sessions heartbeating (edge CPU, Redis commands/s); posting
# into a 100k-member workspace with 5k sessions online (Redis commands per message); reading the
# read states of a user in 200 channels.
presence_bench() {
  local sessions=${BENCH_HEARTBEAT_SESSIONS:-$(( $(ulimit -n) > 16000 ? 15000 : $(ulimit -n) - 1000 ))}
  local hb_json hb_guild big_json big_guild big_channel c1 c2 t1 t2 hb
  big_json=$(ctl workspace create "Big" --owner "$OWNER")
  big_guild=$(json 'd["id"]' <<< "$big_json"); big_channel=$(json 'd["system_channel_id"]' <<< "$big_json")
  "$BIN/concordctl" bench seed-members --config "$CONFIG" --workspace "$big_guild" --owner "$OWNER" --count 100000 --prefix big > "$root/big-tokens"
  for i in $(seq 199); do
    curl -fsS -X POST -H "Authorization: $OWNER_TOKEN" -H 'Content-Type: application/json' -d "{\"name\":\"room-$i\"}" \
      "$EDGE/api/v10/guilds/$big_guild/channels" > /dev/null
  done
  head -5000 "$root/big-tokens" > "$root/big-online"
  rm -f "$root/hb-started"
  "$BIN/concord-bench" heartbeats --edge "$EDGE" --tokens "$root/big-online" --sessions 5000 --seconds $(( DURATION + 5 )) \
    --edge-pid "${pids[1]}" --started-file "$root/hb-started" > "$root/big-online.txt" & hb=$!
  while [ ! -f "$root/hb-started" ] && kill -0 "$hb" 2>/dev/null; do nap 0.2; done
  echo "$OWNER_TOKEN" > "$root/owner-token"
  redis_calls > "$root/calls-before"
  # Paced well below the edge's fan-out capacity (each message goes to 5,000 sessions).
  "$BIN/concord-bench" sends --edge "$EDGE" --tokens "$root/owner-token" --channel "$big_channel" --clients 4 --seconds "$DURATION" \
    --paced-rate 10 | tee "$root/big-sends.txt"
  redis_calls > "$root/calls-after"
  wait "$hb" || true
  local posted
  posted=$(sed -nE 's/^[^:]*: ([0-9]+) ok.*/\1/p' "$root/big-sends.txt")
  echo "100k-member workspace, 5,000 sessions online: Redis calls per message posted, by command (presence refreshes (zadd) and sweeps (eval) run regardless of posting):"
  redis_calls_diff "$root/calls-before" "$root/calls-after" "$posted"
  "$BIN/concord-bench" get --edge "$EDGE" --token "$OWNER_TOKEN" --path /users/@me/read-states --clients 8 --seconds "$DURATION"
  hb_json=$(ctl workspace create "Heartbeats" --owner "$OWNER"); hb_guild=$(json 'd["id"]' <<< "$hb_json")
  "$BIN/concordctl" bench seed-members --config "$CONFIG" --workspace "$hb_guild" --owner "$OWNER" --count "$sessions" --prefix hb > "$root/hb-tokens"
  rm -f "$root/hb-started"
  "$BIN/concord-bench" heartbeats --edge "$EDGE" --tokens "$root/hb-tokens" --sessions "$sessions" --seconds "${BENCH_HEARTBEAT_SECONDS:-60}" \
    --edge-pid "${pids[1]}" --started-file "$root/hb-started" > "$root/hb.txt" & hb=$!
  while [ ! -f "$root/hb-started" ] && kill -0 "$hb" 2>/dev/null; do nap 0.2; done
  c1=$(redis_commands); t1=$(now); redis_calls > "$root/hb-calls-before"
  wait "$hb" || true
  c2=$(redis_commands); t2=$(now); redis_calls > "$root/hb-calls-after"
  cat "$root/hb.txt"
  awk -v a="$c1" -v b="$c2" -v s="$t1" -v e="$t2" 'BEGIN { printf "heartbeats: Redis %.0f commands/s during the window (every Redis command of the cell, publisher and sweeper included)\n", (b - a) / (e - s) }'
  echo "heartbeats: Redis calls per second during the window, by command:"
  redis_calls_diff "$root/hb-calls-before" "$root/hb-calls-after" "$(awk -v s="$t1" -v e="$t2" 'BEGIN { print e - s }')"

}

# Tiers: a channel with BENCH_TIER_HISTORY messages over 200 days; `tier run` archives what is
# older than 90 days (prints bytes per message in each tier); then page latency per tier and
# history storms (concord-bench tiers).
tiers_bench() {
  local channel seeded oldest newest cut_ms cut_bucket cold_below
  channel=$(curl -fsS -X POST -H "Authorization: $OWNER_TOKEN" -H 'Content-Type: application/json' \
    -d '{"name":"tiers"}' "$EDGE/api/v10/guilds/$GUILD/channels" | json 'd["id"]')
  seeded=$("$BIN/concordctl" bench seed-history --config "$CONFIG" --channel "$channel" --author "$OWNER" \
    --count "${BENCH_TIER_HISTORY:-100000}" --days 200)
  oldest=$(awk '{print $2}' <<< "$seeded"); newest=$(awk '{print $4}' <<< "$seeded")
  echo "tiers: ${BENCH_TIER_HISTORY:-100000} messages over 200 days; archiving what is older than 90 days"
  "$BIN/concordctl" tier run --config "$CONFIG" | grep -E "archived|storage"
  cut_ms=$(( $(date +%s%3N) - 90 * 86400000 ))
  cut_bucket=$(( (cut_ms - 1420070400000) / 864000000 ))
  cold_below=$(( (cut_bucket * 864000000) << 22 ))
  "$BIN/concord-bench" tiers --edge "$EDGE" --cell "http://127.0.0.1:$CELL_PORT" --token "$OWNER_TOKEN" --channel "$channel" \
    --oldest "$oldest" --cold-below "$cold_below" --newest "$newest"
  "$BIN/concordctl" tier status --config "$CONFIG" || true
}

# Cells: a channel of a workspace in cell 1 shared into a workspace in cell 2; the sender posts
# through edge 1 (its BENCH_CLIENTS members in turn) at each of BENCH_CELL_RATES (100, 200 and 1,000) messages/s while sessions of the other workspace's
# members on edge 2 time each message's arrival (home cell → outbox → relay → replica → its outbox
# → edge 2). Then the edge's routing overhead: one GET through the edge and at the cell directly.
# The relay's lag, message by message: its commit in cell 2 (the replica) after its commit in
# cell 1 (the home), both from the databases' commit timestamps (one machine, one clock).
replication_lag() {
  local query="SELECT id, extract(epoch from pg_xact_commit_timestamp(xmin)) * 1000 FROM messages WHERE channel_id = $1 AND id > $2"
  "$PYTHON" scripts/replication_lag.py <(cell_sql "$PG_PORT" "$query") <(cell_sql "$PG2_PORT" "$query") | sed 's/^/cells: /'
}
# BENCH_TIMELINE=DIR: where each message's time goes, stage by stage (scripts/cells_stages.py):
# the generator's per-message timeline (number, REST 200, last delivery; kept in DIR/cells-RATE.txt)
# beside both outboxes' rows (written, numbered) of the messages.
cells_stages() {
  local query="SELECT payload->>'content', extract(epoch from created_at) * 1000, extract(epoch from sequenced_at) * 1000
               FROM outbox WHERE event_type = 'MESSAGE_CREATE' AND (payload->>'id')::bigint > $3"
  "$PYTHON" scripts/cells_stages.py "$1/cells-$2.txt" <(cell_sql "$PG_PORT" "$query") <(cell_sql "$PG2_PORT" "$query") | sed 's/^/cells: /'
}
cells_bench() {
  local far_json far_owner far_guild shared
  [ -z "${BENCH_LINK_MS:-}" ] || echo "cells: the regions reach each other's cells through a link of $BENCH_LINK_MS ms each way ($(( 2 * BENCH_LINK_MS )) ms round trip)"
  far_json=$(ctl user create farowner --cell bench-2); far_owner=$(json 'd["id"]' <<< "$far_json")
  far_guild=$(ctl workspace create "Far" --owner "$far_owner" | json 'd["id"]')
  shared=$(curl -fsS -X POST -H "Authorization: $OWNER_TOKEN" -H 'Content-Type: application/json' \
    -d '{"name":"shared"}' "$EDGE/api/v10/guilds/$GUILD/channels" | json 'd["id"]')
  "$BIN/concordctl" channel share "$shared" --into "$far_guild" --config "$CONFIG"
  "$BIN/concordctl" bench seed-members --config "$CONFIG" --cell bench-2 --workspace "$far_guild" --owner "$far_owner" \
    --count 10 --prefix far > "$root/far-tokens"
  # The relay into cell 2, from its metrics: page reads, applies and held reads (sums and counts), events applied.
  relay2_figures() {
    curl -fsS "http://127.0.0.1:$RELAY2_ADMIN_PORT/metrics" | awk '
      /^concord_relay_step_duration_seconds_sum.*step="page"/ { ps = $NF } /^concord_relay_step_duration_seconds_count.*step="page"/ { pc = $NF }
      /^concord_relay_step_duration_seconds_sum.*step="apply"/ { as = $NF } /^concord_relay_step_duration_seconds_count.*step="apply"/ { ac = $NF }
      /^concord_relay_step_duration_seconds_sum.*step="held"/ { hs = $NF } /^concord_relay_step_duration_seconds_count.*step="held"/ { hc = $NF }
      /^concord_relay_applied_total/ { e += $NF }
      END { print ps + 0, pc + 0, as + 0, ac + 0, e + 0, hs + 0, hc + 0 }'
  }
  for rate in ${BENCH_CELL_RATES:-100 200 1000}; do
    echo "cells: $CLIENTS members posting together at $rate/s through edge-1 into a channel of cell 1 shared into cell 2; 10 sessions of cell-2 members on edge-2"
    local relay_before newest_before
    relay_before=$(relay2_figures)
    newest_before=$(cell_sql "$PG_PORT" "SELECT coalesce(max(id), 0) FROM messages WHERE channel_id = $shared")
    # Where the machine's CPU goes while the messages flow: each process's share per message.
    local roles=("cell-1=${pids[0]}" "edge-1=${pids[1]}" "cell-2=${pids[2]}" "edge-2=${pids[3]}" "relay-1=${pids[4]}" "relay-2=${pids[5]}") bench
    rm -f "$root/sending"
    "$BIN/concord-bench" fanout --edge "$EDGE2" --post-edge "$EDGE" --tokens "$root/far-tokens" --sender-token "$OWNER_TOKEN" \
      --sender-tokens "$root/tokens" --channel "$shared" --sessions 10 --rate "$rate" --seconds "$DURATION" --sending-file "$root/sending" \
      ${BENCH_TIMELINE:+--timeline-file "$BENCH_TIMELINE/cells-$rate.txt"} > "$root/cells.txt" & bench=$!
    roles+=("load generator=$bench")
    while [ ! -f "$root/sending" ] && kill -0 "$bench" 2>/dev/null; do nap 0.02; done
    "$PYTHON" scripts/cpu_split.py snapshot "$root/cells-cpu.json" "${roles[@]}"
    # BENCH_PROFILE_CELLS=DIR: sample the whole machine while the messages flow (every process,
    # the kernel's work included: at moderate rates no one process holds most of the CPU).
    local profiler=""
    if [ -n "${BENCH_PROFILE_CELLS:-}" ]; then
      mkdir -p "$BENCH_PROFILE_CELLS"
      perf record -e cpu-clock -F 499 -a -g -o "$BENCH_PROFILE_CELLS/cells-$rate.perf" -- sleep "$DURATION" >/dev/null 2>&1 & profiler=$!
    fi
    statements_reset; statements_reset "$root/pg2" "$PG2_PORT"
    wait "$bench"
    [ -z "$profiler" ] || wait "$profiler"
    sed 's/^/cells: /' "$root/cells.txt"
    local posts; posts=$(awk -v r="$rate" -v t="$DURATION" 'BEGIN { printf "%d", r * t }')
    "$PYTHON" scripts/cpu_split.py report "$root/cells-cpu.json" "$posts" "${roles[@]}" | sed -e 's/^CPU per request/cells: CPU per message/' -e 's/^thread switches per request/cells: thread switches per message/'
    if [ -n "${BENCH_STATEMENTS:-}" ]; then
      statements_per "$posts" "cells: cell 1's statements per message"
      statements_per "$posts" "cells: cell 2's statements per message" "$root/pg2" "$PG2_PORT"
    fi
    replication_lag "$shared" "$newest_before"
    [ -z "${BENCH_TIMELINE:-}" ] || cells_stages "$BENCH_TIMELINE" "$rate" "$newest_before"
    echo "$relay_before $(relay2_figures)" | awk '{ pc = $9 - $2; ac = $11 - $4; hc = $14 - $7
      printf "cells: relay into cell 2: %d pages read (mean %.1f ms), %d applied (mean %.1f ms), %.1f events per page applied; %d pages through reads held open at the source (mean wait %.1f ms)\n",
        pc, (pc ? ($8 - $1) / pc * 1000 : 0), ac, (ac ? ($10 - $3) / ac * 1000 : 0), (ac ? ($12 - $5) / ac : 0), hc, (hc ? ($13 - $6) / hc * 1000 : 0) }'
    "$BIN/concordctl" outbox status --config "$CONFIG"
  done
  # Hops: a far member reads the shared channel through edge-2 (their cell holds its replica);
  # the edge's calls to cells against its requests, from its metrics.
  local far_token before_calls before_requests
  far_token=$(head -1 "$root/far-tokens")
  edge2_metric() { curl -fsS "http://127.0.0.1:$EDGE2_ADMIN_PORT/metrics" | awk -v name="$1" 'index($0, name) == 1 { s += $NF } END { print s + 0 }'; }
  before_calls=$(edge2_metric concord_edge_cell_calls_total); before_requests=$(edge2_metric 'concord_http_requests_total{')
  "$BIN/concord-bench" get --edge "$EDGE2" --token "$far_token" --path "/channels/$shared/messages" --clients 1 --seconds "$DURATION" \
    | sed 's/^/cells: far read, /'
  awk -v c="$(( $(edge2_metric concord_edge_cell_calls_total) - before_calls ))" -v r="$(( $(edge2_metric 'concord_http_requests_total{') - before_requests ))" \
    'BEGIN { printf "cells: hops per request (edge-2 calls to cells / requests): %d / %d = %.2f\n", c, r, (r ? c / r : 0) }'
  # Writes into the shared channel at 20/s: a near member through edge-1 (the home cell), a far
  # member through edge-2 (their cell checks them and hands the write to the home).
  "$BIN/concord-bench" sends --edge "$EDGE" --tokens "$root/tokens" --channel "$shared" --clients 1 --paced-rate 20 --seconds "$DURATION" \
    | sed 's/^/cells: near write, /'
  "$BIN/concord-bench" sends --edge "$EDGE2" --tokens "$root/far-tokens" --channel "$shared" --clients 1 --paced-rate 20 --seconds "$DURATION" \
    | sed 's/^/cells: far write, /'
  "$BIN/concord-bench" get --edge "$EDGE" --token "$OWNER_TOKEN" --path /users/@me --clients 1 --seconds "$DURATION" | sed 's/^/routing: /'
  "$BIN/concord-bench" get --edge "http://127.0.0.1:$CELL_PORT" --at-cell --token "$OWNER_TOKEN" --path /users/@me --clients 1 \
    --seconds "$DURATION" | sed 's/^/routing: /'
}

# Moves: a workspace with BENCH_MOVE_MESSAGES (100,000) messages and 100 members moves from
# cell 1 to cell 2 while its members post 100 messages/s through edge 1; prints the move's
# report (copy, catch-up passes, freeze and total milliseconds) and the posts' latency and
# errors over the whole run (the freeze shows in their p99; errors should be 0).
moves_bench() {
  local move_json move_guild move_channel load
  move_json=$(ctl workspace create "Moving" --owner "$OWNER")
  move_guild=$(json 'd["id"]' <<< "$move_json"); move_channel=$(json 'd["system_channel_id"]' <<< "$move_json")
  "$BIN/concordctl" bench seed-members --config "$CONFIG" --workspace "$move_guild" --owner "$OWNER" \
    --count 100 --prefix mover > "$root/move-tokens"
  "$BIN/concordctl" bench seed-history --config "$CONFIG" --channel "$move_channel" --author "$OWNER" \
    --count "${BENCH_MOVE_MESSAGES:-100000}" --days 30 >/dev/null
  echo "moves: a workspace with ${BENCH_MOVE_MESSAGES:-100000} messages and 100 members moves from bench-1 to bench-2 while its members post 100 msg/s"
  "$BIN/concord-bench" sends --edge "$EDGE" --tokens "$root/move-tokens" --channel "$move_channel" --clients 4 \
    --paced-rate 100 --seconds "${BENCH_MOVE_SECONDS:-60}" | sed 's/^/moves: /' &
  load=$!
  sleep 5
  "$BIN/concordctl" workspace move "$move_guild" --to bench-2 --config "$CONFIG" --json | tr -d '\n ' | sed 's/^/moves: move report /; s/$/\n/'
  wait "$load"
}

# Permission-filtered fan-out: the same sessions (BENCH_PERMISSION_SESSIONS, 1,000) in one run,
# into a public channel, then into a channel that only the half holding a role may view; the
# edge decides per session from its channel visibility.
permissions_bench() {
  local sessions=${BENCH_PERMISSION_SESSIONS:-1000} rate=${BENCH_PERMISSION_RATE:-20}
  local p_json p_guild p_public role private view
  p_json=$(ctl workspace create "Permissions $sessions" --owner "$OWNER")
  p_guild=$(json 'd["id"]' <<< "$p_json"); p_public=$(json 'd["system_channel_id"]' <<< "$p_json")
  "$BIN/concordctl" bench seed-members --config "$CONFIG" --workspace "$p_guild" --owner "$OWNER" --count "$sessions" --prefix "perm${sessions}x" > "$root/perm-tokens"
  role=$(curl -fsS -X POST -H "Authorization: $OWNER_TOKEN" -H 'Content-Type: application/json' -d '{"name":"half"}' \
    "$EDGE/api/v10/guilds/$p_guild/roles" | json 'd["id"]')
  curl -fsS -H "Authorization: $OWNER_TOKEN" "$EDGE/api/v10/guilds/$p_guild/members?limit=1000" \
    | json '"\n".join([m["user"]["id"] for m in d if m["user"]["id"] != "'"$OWNER"'"][:'"$(( sessions / 2 ))"'])' \
    | while read -r member; do
        curl -fsS -X PUT -H "Authorization: $OWNER_TOKEN" "$EDGE/api/v10/guilds/$p_guild/members/$member/roles/$role" >/dev/null
      done
  view=1024
  private=$(curl -fsS -X POST -H "Authorization: $OWNER_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"name\":\"half\",\"permission_overwrites\":[{\"id\":\"$p_guild\",\"type\":0,\"deny\":\"$view\"},{\"id\":\"$role\",\"type\":0,\"allow\":\"$view\"}]}" \
    "$EDGE/api/v10/guilds/$p_guild/channels" | json 'd["id"]')
  for target in "public $p_public $sessions" "private $private $(( sessions / 2 ))"; do
    set -- $target
    echo "permissions: $sessions sessions, $rate msg/s into the $1 channel ($3 may view it)"
    "$BIN/concord-bench" fanout --edge "$EDGE" --tokens "$root/perm-tokens" --sender-token "$OWNER_TOKEN" --channel "$2" \
      --sessions "$sessions" --receivers "$3" --rate "$rate" --seconds "$DURATION" --edge-pid "${pids[1]}" | sed 's/^/permissions: /'
  done
}

# BENCH_STATEMENTS=1: start counting the statements the cells' databases run (PostgreSQL is
# started with pg_stat_statements for it); statements_per N LABEL prints them per unit of work.
# Statements inside functions (the sequencer's pass) are counted too, beside the call.
# Both take the cell's database by default, or `"$root/pg2" "$PG2_PORT"` last for cell 2's.
statements_reset() {
  [ -z "${BENCH_STATEMENTS:-}" ] && return
  as_pg psql -h "${1:-$root/pg}" -p "${2:-$PG_PORT}" -U postgres -d concord -qAt \
    -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "ALTER SYSTEM SET pg_stat_statements.track = 'all'" \
    -c "SELECT pg_reload_conf()" -c "SELECT pg_stat_statements_reset()" >/dev/null
}
# statements_per COUNT LABEL [DIR PORT]
statements_per() {
  as_pg psql -h "${3:-$root/pg}" -p "${4:-$PG_PORT}" -U postgres -d concord -qAtF ' | ' -c \
    "SELECT round(calls::numeric / $1, 2), round(total_exec_time::numeric / $1, 3) || ' ms', 'plan ' || round(total_plan_time::numeric / $1, 3) || ' ms', 'JIT ' || round((jit_generation_time + jit_optimization_time + jit_emission_time)::numeric / $1, 3) || ' ms', left(regexp_replace(query, '\s+', ' ', 'g'), 140)
     FROM pg_stat_statements ORDER BY calls DESC LIMIT 25" | sed "s/^/$2: /"
}
# Transactions committed in the cell's database so far (every statement outside a transaction is one).
committed_transactions() {
  cell_sql "$PG_PORT" "SELECT xact_commit FROM pg_stat_database WHERE datname = 'concord'"
}

# Sends through the edge, then the same inserts through pgbench: the ratio is the send path's
# share of the database's raw rate; then sends paced at half of pgbench's rate, for latency.
# Beside the rate: each process's CPU and the database's transactions per request.
sends_bench() {
  local roles=("cell=${pids[0]}" "edge=${pids[1]}") sender sent commits_before
  local metrics=("http://127.0.0.1:$EDGE_ADMIN_PORT/metrics" "http://127.0.0.1:$CELL_ADMIN_PORT/metrics")
  # measured_sends_start ARGS…: the load generator's sends, in the background (sets sender); the
  # counts start when its warm-up is over, as its own count does. measured_sends_end: waits for
  # it, prints its line, sets sent and prints each process's CPU and time per request.
  measured_sends_start() {
    rm -f "$root/measuring"
    "$BIN/concord-bench" sends --edge "$EDGE" --tokens "$root/tokens" --channel "$CHANNEL" --seconds "$DURATION" "$@" \
      --measuring-file "$root/measuring" > "$root/sends.txt" & sender=$!
    while [ ! -f "$root/measuring" ] && kill -0 "$sender" 2>/dev/null; do nap 0.02; done
    "$PYTHON" scripts/cpu_split.py snapshot "$root/cpu.json" "${roles[@]}"
    "$PYTHON" scripts/time_split.py snapshot "$root/times.json" "${metrics[@]}"
  }
  measured_sends_end() {
    wait "$sender"
    cat "$root/sends.txt"
    sent=$(sed -nE 's/^[^:]*: ([0-9]+) ok.*/\1/p' "$root/sends.txt")
    "$PYTHON" scripts/cpu_split.py report "$root/cpu.json" "$sent" "${roles[@]}"
    "$PYTHON" scripts/time_split.py report "$root/times.json" "${metrics[@]}"
  }
  measured_sends_start --clients "$CLIENTS"
  commits_before=$(committed_transactions)
  redis_calls > "$root/send-calls-before"
  statements_reset
  measured_sends_end
  awk -v n="$(( $(committed_transactions) - commits_before ))" -v r="$sent" \
    'BEGIN { printf "PostgreSQL transactions per request: %.2f\n", n / (r > 0 ? r : 1) }'
  redis_calls > "$root/send-calls-after"
  echo "Redis commands per request:"
  redis_calls_diff "$root/send-calls-before" "$root/send-calls-after" "$sent"
  # BENCH_STATEMENTS=1: the statements the database ran per request (PostgreSQL is started with
  # pg_stat_statements for it).
  [ -z "${BENCH_STATEMENTS:-}" ] || statements_per "$sent" "statements per request"
  wait_profiles() { [ -z "${BENCH_PROFILE:-}" ] || sleep 2; }
  wait_profiles
  local edge_rate pg_rate half
  edge_rate=$(sed -nE 's/.* = ([0-9.]+) req\/s.*/\1/p' "$root/sends.txt")
  pgbench_sends "$CLIENTS"; pg_rate=$PGBENCH_RATE
  awk -v e="$edge_rate" -v p="$pg_rate" 'BEGIN { printf "edge path / raw database rate: %.2f\n", e / p }'
  half=$(awk -v p="$pg_rate" 'BEGIN { printf "%.0f", p / 2 }')

  # A send through the edge takes 8 ms against pgbench's 3.5 at 16 clients: so few clients measure
  # Concord's latency (16 / 8 ms) more than what it can take, and cannot offer half of pgbench's
  # rate either. The pair again with BENCH_WIDE_CLIENTS (64) of each, as a chat server has many
  # more senders than that; then the sends paced to half of pgbench's rate on as many connections.
  local wide=${BENCH_WIDE_CLIENTS:-64}
  if [ "$wide" != "$CLIENTS" ]; then
    "$BIN/concord-bench" sends --edge "$EDGE" --tokens "$root/tokens" --channel "$CHANNEL" --clients "$wide" --seconds "$DURATION" \
      > "$root/wide-sends.txt"
    cat "$root/wide-sends.txt"
    edge_rate=$(sed -nE 's/.* = ([0-9.]+) req\/s.*/\1/p' "$root/wide-sends.txt")
    pgbench_sends "$wide"; pg_rate=$PGBENCH_RATE
    awk -v e="$edge_rate" -v p="$pg_rate" -v c="$wide" 'BEGIN { printf "edge path / raw database rate, %d clients each: %.2f\n", c, e / p }'
  fi
  # Paced to half of pgbench's rate, then to a quarter (half of the aimed share, 0.5× pgbench:
  # the issue's "p99 at half that rate" read the other way), each printing its tail as the edge
  # and the cell timed it. BENCH_PACED_RATES="R1 R2" paces to fixed rates instead: two builds
  # compared in turn then see the same load, whatever pgbench made of each run's minutes.
  local rates=${BENCH_PACED_RATES:-"$half $(awk -v p="$pg_rate" 'BEGIN { printf "%.0f", p / 4 }')"}
  # Each paced run's CPU per request too: a quiet machine pays more per request than a busy one
  # (smaller batches, a wake-up per event), and the tail follows how busy the cores are.
  for rate in $rates; do
    measured_sends_start --clients "$wide" --paced-rate "$rate"
    measured_sends_end
  done
}

# pgbench doing a send's inserts (a message and its outbox row per transaction) with $1 clients
# for the run's duration: prints its line and sets PGBENCH_RATE to its tx/s.
pgbench_sends() {
  local clients=$1 bucket_ms=864000000 epoch=1420070400000 bucket base latency
  bucket=$(( ($(date +%s%3N) - epoch) / bucket_ms ))
  base=$(( (bucket * bucket_ms) << 22 ))
  PGPASSWORD="$CONCORD_PG_PASSWORD" "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PG_PORT" -U concord -n -c "$clients" -j 2 -T "$DURATION" \
    -D chan="$CHANNEL" -D guild="$GUILD" -D author="$OWNER" -D bucket="$bucket" -D base="$base" \
    -f Sources/ConcordStorage/SQL/pgbench_send.sql concord > "$root/pgbench.txt" 2>&1
  PGBENCH_RATE=$(grep -E "^tps" "$root/pgbench.txt" | head -1 | sed -E 's/tps = ([0-9.]+).*/\1/')
  latency=$(grep -E "latency average" "$root/pgbench.txt" | sed -E 's/.*= //')
  printf 'pgbench, same inserts (message + outbox row per transaction), %s clients: %.0f tx/s, latency average %s\n' "$clients" "$PGBENCH_RATE" "$latency"
}

# Files: BENCH_FILE_ROUNDS uploads of a 10 MiB file (new random bytes each time, so each is
# stored: identical uploads are stored once) as multipart, as libraries send it, into the bench
# channel, then as many downloads of the last by its signed URL; the medians as MiB/s.
files_bench() {
  local rounds=${BENCH_FILE_ROUNDS:-10} file="$root/upload.bin" url up down
  : > "$root/up.times"; : > "$root/down.times"
  for i in $(seq "$rounds"); do
    head -c $(( 10 << 20 )) /dev/urandom > "$file"
    curl -fsS -o "$root/upload.json" -w '%{time_total}\n' -H 'Expect:' -H "Authorization: $OWNER_TOKEN" \
      -F "payload_json={\"content\":\"upload $i\"}" -F "files[0]=@$file;type=application/octet-stream" \
      "$EDGE/api/v10/channels/$CHANNEL/messages" >> "$root/up.times"
  done
  url=$(json 'd["attachments"][0]["url"]' < "$root/upload.json")
  for i in $(seq "$rounds"); do
    curl -fsS -o "$root/download.bin" -w '%{time_total}\n' "$url" >> "$root/down.times"
  done
  cmp -s "$file" "$root/download.bin" || { echo "files: the download differs from the upload"; return 1; }
  median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  up=$(median "$root/up.times"); down=$(median "$root/down.times")
  awk -v u="$up" -v d="$down" -v n="$rounds" 'BEGIN { printf "files: 10 MiB through the edge, median of %d: upload %.0f ms (%.0f MiB/s), download %.0f ms (%.0f MiB/s)\n", n, u * 1000, 10 / u, d * 1000, 10 / d }'
  # Clients that ask for the file and never read it: what the edge and the cell hold for them.
  local stalled=${BENCH_STALLED_DOWNLOADS:-50} before_edge before_cell
  before_edge=$(rss_kb "${pids[1]}"); before_cell=$(rss_kb "${pids[0]}")
  "$PYTHON" scripts/stalled_downloads.py "$url" "$stalled" 5 &
  local holder=$!
  sleep 4
  awk -v n="$stalled" -v e="$(( $(rss_kb "${pids[1]}") - before_edge ))" -v c="$(( $(rss_kb "${pids[0]}") - before_cell ))" \
    'BEGIN { printf "files: %d clients holding a 10 MiB download unread: edge grew %.1f MiB, cell %.1f MiB (%.0f KiB and %.0f KiB each)\n", n, e / 1024, c / 1024, e / n, c / n }'
  wait "$holder" || true
}

# Peers: ../shared/bench/fanout's load generator (BENCH_PEERS_FANBENCH) against this edge and
# against nginx+nchan in one run, the same receivers, messages and harness: a flood and a paced
# run each; prints the figures side by side (deliveries/s, latency, server CPU µs per delivery,
# memory). Concord's server figures are the edge's (the process that fans out).
peers_bench() {
  local fanbench=${BENCH_PEERS_FANBENCH:-../shared/bench/fanout} n=${BENCH_PEERS_SESSIONS:-1000}
  # The flood is 5,000 messages (~13 s): 1,000 (~2.6 s) was short enough that start-up swung its
  # rate between 200k and 420k deliveries/s run to run. BENCH_PEERS_FLOOD=N sets it, 0 leaves it
  # out; BENCH_PEERS_RATE sets the paced run's messages/s. BENCH_PEERS_LARGE receivers (10,000;
  # 0 leaves it out) then take 150 messages at 10/s: 100k deliveries/s offered, as bench-fanout's
  # 10k, beside nchan's in the same run.
  local flood=${BENCH_PEERS_FLOOD:-5000} paced=${BENCH_PEERS_PACED:-200} rate=${BENCH_PEERS_RATE:-20} venv=.build/fanbench-venv
  local large=${BENCH_PEERS_LARGE:-10000}
  [ -f "$fanbench/fanbench.py" ] || { log "no fanbench.py in $fanbench (BENCH_PEERS_FANBENCH)"; return 1; }
  ensure_nchan
  [ -x "$venv/bin/python" ] || { "$PYTHON" -m venv "$venv" && "$venv/bin/pip" install -q aiohttp uvloop psutil; }
  local bot_json; bot_json=$(ctl bot create peersender --owner "$OWNER")
  # peers_room N: a workspace of N receivers and the sender bot, as fanbench's tokens file $root/peers-N.json.
  peers_room() {
    local p_json p_guild p_channel
    p_json=$(ctl workspace create "Peers $1" --owner "$OWNER")
    p_guild=$(json 'd["id"]' <<< "$p_json"); p_channel=$(json 'd["system_channel_id"]' <<< "$p_json")
    "$BIN/concordctl" bench seed-members --config "$CONFIG" --workspace "$p_guild" --owner "$OWNER" --count "$1" --prefix "peer$1x" > "$root/peer-tokens"
    "$BIN/concordctl" member add "$p_guild" "$(json 'd["id"]' <<< "$bot_json")" --config "$CONFIG" >/dev/null
    "$PYTHON" - "$root/peer-tokens" "$p_guild" "$p_channel" "$(json 'd["token"]' <<< "$bot_json")" "$EDGE" > "$root/peers-$1.json" <<'PY'
import json, sys
tokens, guild, channel, sender, edge = sys.argv[1:]
receivers = [line.strip().removeprefix("Bot ") for line in open(tokens) if line.strip()]
print(json.dumps({"guild_id": guild, "channel_id": channel, "sender": sender, "receivers": receivers,
                  "gateway": edge.replace("http", "ws", 1) + "/gateway", "api": edge + "/api/v10", "wait_guild_create": True}))
PY
  }
  peers_room "$n"
  [ "$large" = 0 ] || peers_room "$large"
  mkdir -p "$root/nchan/tmp"; chmod -R 777 "$root/nchan"
  sed "s#@DIR@#$root/nchan#g" "$fanbench/nchan/nginx.conf.in" > "$root/nchan/nginx.conf"
  nginx -c "$root/nchan/nginx.conf" -g 'daemon off;' > "$root/nchan/out.log" 2>&1 & pids+=($!)
  local nginx_pid=$! results="$root/peers.jsonl"
  for _ in $(seq 50); do [ -f "$root/nchan/nginx.pid" ] && break; sleep 0.1; done
  local edge_port=${EDGE##*:}
  local rooms="$n receivers in one room"; [ "$large" = 0 ] || rooms+=", then $large in another"
  # Its rows are "10k-paced" for 10,000 (what bench-ab reads), the count itself otherwise.
  local large_label="$large-paced"; [ $(( large % 1000 )) != 0 ] || large_label="$(( large / 1000 ))k-paced"
  echo "peers: $rooms, the same load generator ($fanbench) against Concord's edge and nginx+nchan"
  # BENCH_PEERS_ROUNDS=N: every run N times, alternating; the table adds medians and ratios.
  # A run is KIND:RATE:MESSAGES:RECEIVERS:LABEL.
  local rounds=${BENCH_PEERS_ROUNDS:-1}
  # The harness itself runs once, unmeasured, before anything is: its first start (Python and its
  # modules read from disk) took a third of a second off whichever server came first.
  "$venv/bin/python" "$fanbench/fanbench.py" --proto nchan --port 18080 -n 10 -m 1 --rate 0 --window 8 --label warm-up \
    --out /dev/null > /dev/null 2>> "$root/fanbench.err" || true
  for run in $(for _ in $(seq "$rounds"); do
                 [ "$flood" = 0 ] || echo "flood:0:$flood:$n:flood"; echo "paced:$rate:$paced:$n:paced"
                 [ "$large" = 0 ] || echo "paced:10:150:$large:$large_label"
               done); do
    set -- ${run//:/ }
    local fb=("$venv/bin/python" "$fanbench/fanbench.py" -n "$4" --window 8 --out "$results")
    "$venv/bin/python" "$fanbench/quiet.py" 60 0.3 | sed 's/^/peers: /'
    # BENCH_PROFILE_PEERS=DIR: sample the edge's CPU through Concord's runs (joining included),
    # and every process's (which of them the "foreign cores" are).
    local profiler= machine=
    if [ -n "${BENCH_PROFILE_PEERS:-}" ]; then
      mkdir -p "$BENCH_PROFILE_PEERS"
      perf record -e cpu-clock -F 999 -g -p "${pids[1]}" -o "$BENCH_PROFILE_PEERS/edge-peers-$5.perf" >/dev/null 2>&1 & profiler=$!
      perf record -e cpu-clock -F 499 -g -a -o "$BENCH_PROFILE_PEERS/all-peers-$5.perf" >/dev/null 2>&1 & machine=$!
    fi
    "${fb[@]}" --proto discord --port "$edge_port" --tokens "$root/peers-$4.json" -m "$3" --rate "$2" \
      --pids "${pids[1]}" --label "concord $5" > /dev/null 2>> "$root/fanbench.err"
    [ -z "$profiler" ] || { kill -INT "$profiler" "$machine"; wait "$profiler" "$machine" || true; }
    "$venv/bin/python" "$fanbench/quiet.py" 60 0.3 | sed 's/^/peers: /'
    "${fb[@]}" --proto nchan --port 18080 -m "$3" --rate "$2" --pids "$nginx_pid" --label "nchan $5" > /dev/null 2>> "$root/fanbench.err"
  done
  "$PYTHON" scripts/peers_table.py "$results" | sed 's/^/peers: /'
  mkdir -p .build && cp "$results" .build/bench-peers.jsonl
  echo "peers: every figure of each run (fanbench's JSON lines): .build/bench-peers.jsonl"
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

if [ "$ONLY" = peers ]; then
  peers_bench
  exit 0
fi
if [ "$ONLY" = files ]; then
  files_bench
  exit 0
fi
if [ "$ONLY" = sends ]; then
  sends_bench
  exit 0
fi
if [ "$ONLY" = permissions ]; then
  permissions_bench
  exit 0
fi
if [ "$ONLY" = moves ]; then
  moves_bench
  exit 0
fi
if [ "$ONLY" = cells ]; then
  cells_bench
  exit 0
fi
if [ "$ONLY" = tiers ]; then
  tiers_bench
  exit 0
fi
if [ "$ONLY" = fanout ]; then
  for s in $FANOUT_SESSIONS; do fanout "$s"; done
  fanout_compressed
  exit 0
fi
if [ "$ONLY" = presence ]; then
  presence_bench
  exit 0
fi

sends_bench

HISTORY_CHANNEL=$(curl -fsS -X POST -H "Authorization: $OWNER_TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"history"}' "$EDGE/api/v10/guilds/$GUILD/channels" | json 'd["id"]')
seeded=$("$BIN/concordctl" bench seed-history --config "$CONFIG" --channel "$HISTORY_CHANNEL" --author "$OWNER" --count "$HISTORY")
OLDEST=$(awk '{print $2}' <<< "$seeded"); NEWEST=$(awk '{print $4}' <<< "$seeded")
echo "history channel: $HISTORY messages over $(awk '{print $6}' <<< "$seeded") buckets"
"$BIN/concord-bench" history --edge "$EDGE" --tokens "$root/tokens" --channel "$HISTORY_CHANNEL" --clients "$READERS" \
  --seconds "$DURATION" --oldest "$OLDEST" --newest "$NEWEST"

files_bench
presence_bench
tiers_bench
cells_bench
moves_bench
permissions_bench
# Fan-out last: its sessions stay connected until the edge stops.
for s in $FANOUT_SESSIONS; do fanout "$s"; done
fanout_compressed
