#!/usr/bin/env bash
# Helpers to install and run the servers Concord needs (PostgreSQL, Redis) as ordinary
# processes on loopback. Sourced by the other scripts; every server is stopped by its pid file.
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

log() { printf '==> %s\n' "$*" >&2; }

# Installs what is missing: Redis, hiredis headers, the PostgreSQL 15 server.
# Debian's Chromium and its WebDriver, for the web client's browser test.
# Installs Debian packages, as root or through sudo.
apt_install() {
  log "installing $*"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

ensure_browser() {
  [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && return 0
  apt_install chromium chromium-driver
}

# nginx with the nchan module: the peer `make bench-peers` measures Concord's fan-out beside.
ensure_nchan() {
  [ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] && command -v nginx >/dev/null 2>&1 && return 0
  apt_install nginx-light libnginx-mod-nchan
}

ensure_packages() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [ -f /usr/include/hiredis/hiredis.h ] || missing+=(libhiredis-dev)
  [ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
  [ -f /usr/include/zstd.h ] || missing+=(libzstd-dev)
  [ -f /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
  command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
  command -v zstd >/dev/null 2>&1 || missing+=(zstd)
  [ -x "$PG_BIN/postgres" ] || missing+=(postgresql-15)
  command -v psql >/dev/null 2>&1 || missing+=(postgresql-client-15)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    # Installing Debian's server package starts its default cluster; ours are started by hand.
    # Only that one, just created by this install, is stopped: other clusters are not ours.
    if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && [ -x /usr/bin/pg_ctlcluster ]; then
      $sudo pg_ctlcluster 15 main stop 2>/dev/null || true
    fi
  fi
}

# PostgreSQL refuses to run as root: run it as the `postgres` OS user.
pg_user() {
  if [ "$(id -u)" -ne 0 ]; then id -un; return; fi
  id postgres >/dev/null 2>&1 || useradd --system --user-group --no-create-home postgres
  echo postgres
}

as_pg() {
  local user; user=$(pg_user)
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u "$user" -- "$@"); else (cd / && "$@"); fi
}

# start_postgres DIR PORT PASSWORD [throwaway|durable] [CERT KEY]
# Initializes DIR on first use (superuser `postgres` with PASSWORD) and starts the server.
# Throwaway servers (tests) turn durability off; others keep fsync on. With CERT and KEY it
# also takes TLS connections (ssl = on) with that certificate.
start_postgres() {
  local dir=$1 port=$2 password=$3 mode=${4:-durable} cert=${5:-} key=${6:-}
  local user; user=$(pg_user)
  mkdir -p "$dir"
  chown "$user" "$dir"; chmod 700 "$dir"
  if [ ! -f "$dir/PG_VERSION" ]; then
    local pwfile; pwfile=$(mktemp); printf '%s\n' "$password" > "$pwfile"; chown "$user" "$pwfile"
    as_pg "$PG_BIN/initdb" -D "$dir" -U postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
  fi
  if as_pg "$PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then return 0; fi
  local opts="-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=1000"
  if [ "$mode" = throwaway ]; then opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"; fi
  # Extra server settings, e.g. "-c shared_preload_libraries=pg_stat_statements" to profile a benchmark.
  opts="$opts ${CONCORD_PG_OPTS:-}"
  if [ -n "$cert" ]; then
    # PostgreSQL reads its key only when its own user alone can.
    install -o "$user" -m 600 "$cert" "$dir/server.crt"
    install -o "$user" -m 600 "$key" "$dir/server.key"
    opts="$opts -c ssl=on"
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$dir" -w -l "$dir/server.log" -o "$opts" start >/dev/null
}

# Fails (and says why) when the server is still running afterwards.
stop_postgres() {
  local dir=$1
  [ -f "$dir/postmaster.pid" ] || return 0
  if ! as_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>"$dir.stop.err"; then
    local pid; pid=$(head -1 "$dir/postmaster.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      log "pg_ctl could not stop PostgreSQL in $dir: $(cat "$dir.stop.err")"
      rm -f "$dir.stop.err"
      return 1
    fi
  fi
  rm -f "$dir.stop.err"
}

# psql_as_super DIR PORT SQL: runs SQL through the server's Unix socket.
psql_as_super() {
  local dir=$1 port=$2 sql=$3
  as_pg psql -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt -c "$sql"
}

# ensure_cell_database DIR PORT DATABASE ROLE PASSWORD
# The role the cells connect as: it owns the cell's database and nothing else (no superuser,
# no other databases, no roles). A database made before the role existed is handed over to it.
# SQL goes in on standard input: the password never shows on a command line.
ensure_cell_database() {
  local dir=$1 port=$2 database=$3 role=$4 password=$5
  as_pg psql -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE $role LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
  END IF;
END \$\$;
ALTER ROLE $role PASSWORD '${password//\'/\'\'}';
SQL
  psql_as_super "$dir" "$port" "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1 \
    || psql_as_super "$dir" "$port" "CREATE DATABASE $database OWNER $role"
  as_pg psql -h "$dir" -p "$port" -U postgres -d "$database" -v ON_ERROR_STOP=1 -qAt >/dev/null <<SQL
ALTER DATABASE $database OWNER TO $role;
DO \$\$ DECLARE item record; BEGIN
  FOR item IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v') AND pg_get_userbyid(c.relowner) <> '$role'
                AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))) LOOP
    EXECUTE format(CASE item.relkind WHEN 'S' THEN 'ALTER SEQUENCE %I OWNER TO $role' WHEN 'v' THEN 'ALTER VIEW %I OWNER TO $role'
                                     ELSE 'ALTER TABLE %I OWNER TO $role' END, item.relname);
  END LOOP;
  FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> '$role' LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO $role', item.signature);
  END LOOP;
END \$\$;
SQL
}

# start_redis DIR PORT [aof] [PASSWORD] [TLS_PORT CERT KEY CA] [ACL_FILE]
# With a password, every client must AUTH; with ACL_FILE, as one of its users (PASSWORD is then
# the default user's, which the file sets). Memory is capped; only keys with a TTL (presence,
# resume hand-overs, hot pages) are evicted, never counters or revoked tokens. With TLS_PORT it
# also listens there for TLS, and takes only clients showing a certificate CA signed; PORT 0
# leaves TLS alone (the server's own certificate, a client one too, asks whether it is up).
start_redis() {
  local dir=$1 port=$2 mode=${3:-memory} password=${4:-} tls_port=${5:-} cert=${6:-} key=${7:-} ca=${8:-} acl=${9:-}
  mkdir -p "$dir"; chmod 700 "$dir"
  if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then return 0; fi
  local persist=(--save '' --appendonly no)
  [ "$mode" = aof ] && persist=(--save '' --appendonly yes --appendfsync everysec)
  local auth=()
  if [ -n "$acl" ]; then
    # Users and their password hashes from an ACL file (it sets the default user's too).
    printf 'aclfile %s\n' "$acl" > "$dir/auth.conf"; chmod 600 "$dir/auth.conf"
    auth=("$dir/auth.conf")
  elif [ -n "$password" ]; then
    # The password goes in a config file only the owner reads, not on a command line `ps` shows.
    printf 'requirepass %s\n' "$password" > "$dir/auth.conf"; chmod 600 "$dir/auth.conf"
    auth=("$dir/auth.conf")
  fi
  local tls=()
  [ -n "$tls_port" ] && tls=(--tls-port "$tls_port" --tls-cert-file "$cert" --tls-key-file "$key" --tls-ca-cert-file "$ca" --tls-auth-clients yes)
  redis-server "${auth[@]}" --bind 127.0.0.1 --port "$port" "${tls[@]}" --daemonize yes --dir "$dir" --pidfile "$dir/redis.pid" \
    --logfile "$dir/redis.log" --maxmemory 512mb --maxmemory-policy volatile-lru "${persist[@]}" >/dev/null
  local probe=(-p "$port")
  [ "$port" = 0 ] && probe=(-p "$tls_port" --tls --cacert "$ca" --cert "$cert" --key "$key")
  for _ in $(seq 50); do REDISCLI_AUTH="$password" redis-cli "${probe[@]}" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done
  # The log goes with a throwaway directory, so what it says is shown here.
  log "redis on port ${tls_port:-$port} did not start:"; tail -n 5 "$dir/redis.log" >&2 2>/dev/null; return 1
}

stop_redis() { stop_by_pidfile "$1/redis.pid" "Redis in $1"; }

# stop_by_pidfile FILE WHAT — ends the process FILE names (TERM, then KILL after 5 s) and
# removes FILE.
stop_by_pidfile() {
  local file=$1 what=$2
  [ -f "$file" ] || return 0
  local pid; pid=$(cat "$file")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then log "$what (pid $pid) did not stop on TERM; killing it"; kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$file"
}

# start_object_store DIR PORT VENV — a local S3-compatible server (moto, from PyPI, in VENV) that
# checks every request's signature, and an access key for it in DIR/keys ("ACCESS SECRET").
start_object_store() {
  local dir=$1 port=$2 venv=$3
  mkdir -p "$dir"; chmod 700 "$dir"
  INITIAL_NO_AUTH_ACTION_COUNT=3 nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$dir/server.log" 2>&1 &
  echo $! > "$dir/server.pid"
  for _ in $(seq 100); do
    # A bare connection, not a request: every request counts against the three unchecked ones.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      "$venv/bin/python" "$(dirname "${BASH_SOURCE[0]}")/object_store_keys.py" "http://127.0.0.1:$port" > "$dir/keys" && chmod 600 "$dir/keys" && return 0
      break
    fi
    sleep 0.1
  done
  log "the object store on port $port did not start (see $dir/server.log)"; return 1
}

stop_object_store() { stop_by_pidfile "$1/server.pid" "the object store in $1"; }

random_secret() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
