#!/usr/bin/env bash
# `make test`: throwaway PostgreSQL and Redis on loopback, then the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/services.sh

ensure_packages
root=$(mktemp -d /tmp/concord-test.XXXXXX)
chmod 755 "$root"
export CONCORD_TEST_PG_PORT="${CONCORD_TEST_PG_PORT:-55532}"
export CONCORD_TEST_REDIS_PORT="${CONCORD_TEST_REDIS_PORT:-56479}"
export CONCORD_TEST_PG_PASSWORD
CONCORD_TEST_PG_PASSWORD=$(random_secret)
cleanup() {
  stop_postgres "$root/pg"
  stop_redis "$root/redis"
  rm -rf "$root"
}
trap cleanup EXIT

log "starting throwaway PostgreSQL on $CONCORD_TEST_PG_PORT and Redis on $CONCORD_TEST_REDIS_PORT"
start_postgres "$root/pg" "$CONCORD_TEST_PG_PORT" "$CONCORD_TEST_PG_PASSWORD" throwaway
start_redis "$root/redis" "$CONCORD_TEST_REDIS_PORT"
export CONCORD_TEST_SCRATCH="$root"

# The real-client test runs stock discord.py from PyPI in a throwaway virtual environment;
# with zstandard present it asks for compress=zstd-stream, as it does by default on Python 3.14.
if python3 -m venv "$root/discordpy" >/dev/null 2>&1 && "$root/discordpy/bin/pip" install -q discord.py zstandard >/dev/null 2>&1; then
  export CONCORD_TEST_DISCORDPY="$root/discordpy/bin/python"
else
  log "WARNING: could not install discord.py from PyPI; the discord.py test will be skipped"
fi
export CONCORD_MIGRATIONS="$PWD/migrations"

swift build --build-tests
swift test --skip-build --disable-xctest "$@"
