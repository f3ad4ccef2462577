#!/usr/bin/env bash
# `make run`: installs what is missing, starts the local cluster on loopback (PostgreSQL and
# Redis for each cell, the cells, the edges) and prints where to connect. Data lives in var/
# and survives `make stop`; a second `make run` reuses it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/services.sh

CONFIG="${CONCORD_CONFIG:-config/cluster.json}"
VAR="${CONCORD_VAR:-$PWD/var}"
BUILD="${CONCORD_BUILD:-debug}"
ensure_packages

mkdir -p "$VAR/logs" "$VAR/pids"
if [ ! -f "$VAR/secrets.env" ]; then
  umask 077
  {
    echo "CONCORD_TOKEN_SECRET=$(random_secret)"
    echo "CONCORD_INTERNAL_SECRET=$(random_secret)"
    echo "CONCORD_PG_PASSWORD=$(random_secret)"
    echo "CONCORD_PG_ADMIN_PASSWORD=$(random_secret)"
    echo "CONCORD_REDIS_PASSWORD=$(random_secret)"
  } > "$VAR/secrets.env"
  umask 022
fi
# Checkouts from before Redis had a password get one added.
grep -q '^CONCORD_REDIS_PASSWORD=' "$VAR/secrets.env" || (umask 077; echo "CONCORD_REDIS_PASSWORD=$(random_secret)" >> "$VAR/secrets.env")
# The superuser's password is not the cells' (older checkouts keep theirs: it was set at initdb).
grep -q '^CONCORD_PG_ADMIN_PASSWORD=' "$VAR/secrets.env" || (umask 077; echo "CONCORD_PG_ADMIN_PASSWORD=$(random_secret)" >> "$VAR/secrets.env")
# Each role logs in to Redis as its own ACL user (concordctl redis-acl); the default user's
# password stays the operators'.
for role in EDGE CELL RELAY; do
  grep -q "^CONCORD_REDIS_${role}_PASSWORD=" "$VAR/secrets.env" || (umask 077; echo "CONCORD_REDIS_${role}_PASSWORD=$(random_secret)" >> "$VAR/secrets.env")
done
set -a; . "$VAR/secrets.env"; set +a

# CONCORD_BIN names binaries built already (`make soak` runs a copy that later builds cannot
# change under its supervisors); otherwise this checkout's are built.
if [ -n "${CONCORD_BIN:-}" ]; then
  BIN=$CONCORD_BIN
else
  log "building ($BUILD)"
  # A failed build stops here, loudly: stale binaries are never started.
  for product in concord concordctl; do
    if ! swift build -c "$BUILD" --product "$product" > "$VAR/logs/build.log" 2>&1; then
      grep -E "error" "$VAR/logs/build.log" | head -20 >&2 || tail -20 "$VAR/logs/build.log" >&2
      log "the build failed (full output: $VAR/logs/build.log); nothing was started"
      exit 1
    fi
  done
  BIN=$(swift build -c "$BUILD" --show-bin-path)
fi

# Data must be enterable by the postgres user: keep it under /var/tmp, linked from var/.
export CONCORD_WEB_ROOT="${CONCORD_WEB_ROOT:-$PWD/web}"
DATA_ROOT="${CONCORD_DATA:-/var/tmp/concord-$(echo "$PWD" | md5sum | cut -c1-8)}"
mkdir -p "$DATA_ROOT"; chmod 755 "$DATA_ROOT"
ln -sfn "$DATA_ROOT" "$VAR/data"

topology=$("$BIN/concordctl" topology --config "$CONFIG")

# Internal TLS: a local CA (made once, kept in var/tls) and a certificate for each cell, edge and
# the operator's tool; a relay shows its cell's. Every link between processes uses them.
tls_ca= tls_dir=
read -r _ tls_ca tls_dir < <(grep '^tls ' <<< "$topology") || true
if [ -n "${tls_dir:-}" ]; then
  scripts/tls.sh ca "$tls_dir"
  for name in $(awk '$1=="cell"||$1=="edge"{print $2}' <<< "$topology") concordctl; do
    [ -f "$tls_dir/$name.pem" ] || scripts/tls.sh cert "$tls_dir" "$name"
  done
  # PostgreSQL and Redis show one certificate for the data services of every cell (by absolute
  # path: Redis changes to its own directory before it reads it).
  [ -f "$tls_dir/data-services.pem" ] || scripts/tls.sh cert "$tls_dir" data-services
  tls_dir=$(cd "$tls_dir" && pwd) tls_ca=$(cd "$(dirname "$tls_ca")" && pwd)/$(basename "$tls_ca")
  log "internal TLS: CA $tls_ca, certificates in $tls_dir"
fi

while read -r kind name pgport redisport database dbuser redis_tls pg_tls; do
  [ "$kind" = cell ] || continue
  if [ "$dbuser" = postgres ]; then
    log "cell $name connects to PostgreSQL as the superuser; give it its own user in $CONFIG (e.g. \"user\": \"concord\")"
    exit 1
  fi
  log "cell $name: PostgreSQL on $pgport (as $dbuser), Redis on $redisport"
  mkdir -p "$DATA_ROOT/$name"; chmod 755 "$DATA_ROOT/$name"
  pg_cert=()
  [ "${pg_tls:-disable}" != disable ] && pg_cert=("$tls_dir/data-services.pem" "$tls_dir/data-services-key.pem")
  start_postgres "$DATA_ROOT/$name/pg" "$pgport" "$CONCORD_PG_ADMIN_PASSWORD" durable "${pg_cert[@]}"
  ensure_cell_database "$DATA_ROOT/$name/pg" "$pgport" "$database" "$dbuser" "$CONCORD_PG_PASSWORD"
  mkdir -p "$DATA_ROOT/$name/redis"; chmod 700 "$DATA_ROOT/$name/redis"
  (umask 077; "$BIN/concordctl" redis-acl --config "$CONFIG" --cell "$name" > "$DATA_ROOT/$name/redis/users.acl")
  if [ "${redis_tls:-0}" = 1 ]; then
    # TLS only: the configured port is Redis's TLS port; clients show the CA's certificates.
    start_redis "$DATA_ROOT/$name/redis" 0 aof "$CONCORD_REDIS_PASSWORD" "$redisport" \
      "$tls_dir/data-services.pem" "$tls_dir/data-services-key.pem" "$tls_ca" "$DATA_ROOT/$name/redis/users.acl"
  else
    start_redis "$DATA_ROOT/$name/redis" "$redisport" aof "$CONCORD_REDIS_PASSWORD" "" "" "" "" "$DATA_ROOT/$name/redis/users.acl"
  fi
done <<< "$topology"

# What Concord's own processes write (archives, logs) is theirs alone; PostgreSQL keeps its
# data directories 700 itself, and Redis's are 700.
umask 027
chmod 750 "$VAR" "$VAR/logs" "$VAR/pids"

log "applying migrations"
"$BIN/concordctl" migrate --config "$CONFIG"

# Each process runs under a supervisor that starts it again if it dies (with back-off); the
# pid file holds the supervisor's pid, and `make status` shows the restarts.
# Every process shares this machine's cores: cells and relays run on one event loop each
# (CONCORD_EVENT_LOOPS, README "Threads"), edges on one per core for their deliveries.
start_process() {
  local role=$1 name=$2
  local pidfile="$VAR/pids/$role-$name.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 0; fi
  local loops=()
  case "$role" in cell|relay) loops=(env "CONCORD_EVENT_LOOPS=${CONCORD_EVENT_LOOPS:-1}") ;; esac
  nohup scripts/supervise.sh "$VAR/logs/$role-$name.log" "$VAR/pids/$role-$name.state" \
    "${loops[@]}" "$BIN/concord" "$role" --config "$CONFIG" --name "$name" >/dev/null 2>&1 &
  echo $! > "$pidfile"
}

# Inter-region links: each cell as another region reaches it, through a proxy adding the delay.
while read -r kind listen target delay; do
  [ "$kind" = link ] || continue
  pidfile="$VAR/pids/link-$listen.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then continue; fi
  nohup scripts/supervise.sh "$VAR/logs/link-$listen.log" "$VAR/pids/link-$listen.state" \
    python3 scripts/delay_proxy.py --listen "$listen" --to "$target" --delay-ms "$delay" >/dev/null 2>&1 &
  echo $! > "$pidfile"
done <<< "$topology"

for name in $(awk '$1=="cell"{print $2}' <<< "$topology"); do
  start_process cell "$name"
  # Keeps this cell's replicas of channels shared from other cells current.
  start_process relay "$name"
done
edges=$(awk '$1=="edge"{print $2"|"$3}' <<< "$topology")
first_url=$(awk '$1=="edge"{print $3; exit}' <<< "$topology")
for entry in $edges; do
  start_process edge "${entry%%|*}"
done
for entry in $edges; do
  url="${entry#*|}"
  for _ in $(seq 100); do curl -fsS "$url/api/v10/gateway" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS "$url/api/v10/gateway" >/dev/null || { log "edge at $url did not come up; see $VAR/logs"; exit 1; }
done

cat <<INFO

Concord is running.

  Chat in a browser: ${first_url}/app/
  (register, create a workspace, invite someone with the link it gives, open a second window)

  Edges (web client under /app, REST API under /api/v10, gateway at /gateway):
$(awk '$1=="edge"{printf "    %s (region %s): %s\n", $2, $4, $3}' <<< "$topology")
  Cells: $(awk '$1=="cell"{printf "%s ", $2}' <<< "$topology")(each with its own PostgreSQL, Redis and relay)
  Between regions: $(awk '$1=="link"{print $4; exit}' <<< "$topology") ms each way (delay proxies: var/pids/link-*.pid)
  Metrics and health (operators only: /metrics, /healthz, /readyz):
$(awk '$1=="admin"{printf "    %s: %s/metrics\n", $2, $3}' <<< "$topology")
  Logs: var/logs/   Data: var/data/   Stop: make stop

Create a user and talk to the API:
  set -a; . var/secrets.env; set +a
  $BIN/concordctl user create alice --password 'a long password'
  curl -s -H "Authorization: <token>" ${first_url}/api/v10/users/@me

Or register through the API:
  curl -s -X POST -H 'Content-Type: application/json' \\
       -d '{"username":"bob","password":"a long password"}' ${first_url}/api/v10/auth/register

Operators: $BIN/concordctl --help   (cell status, workspace list, bot create, member add, token revoke,
           tier status / tier run / tier verify / tier restore: message tiers and archives)
INFO
