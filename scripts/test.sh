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
  stop_object_store "$root/s3"
  rm -rf "$root"
}
trap cleanup EXIT

log "starting throwaway PostgreSQL on $CONCORD_TEST_PG_PORT and Redis on $CONCORD_TEST_REDIS_PORT"
# Both also take TLS (PostgreSQL on its port, Redis on a second one) with a certificate of the
# tests' CA, which every test cluster with internal TLS signs its processes' certificates with.
export CONCORD_TEST_TLS_DIR="$root/tls" CONCORD_TEST_REDIS_TLS_PORT="${CONCORD_TEST_REDIS_TLS_PORT:-$((CONCORD_TEST_REDIS_PORT + 1))}"
scripts/tls.sh ca "$CONCORD_TEST_TLS_DIR" && scripts/tls.sh cert "$CONCORD_TEST_TLS_DIR" servers
start_postgres "$root/pg" "$CONCORD_TEST_PG_PORT" "$CONCORD_TEST_PG_PASSWORD" throwaway "$CONCORD_TEST_TLS_DIR/servers.pem" "$CONCORD_TEST_TLS_DIR/servers-key.pem"
start_redis "$root/redis" "$CONCORD_TEST_REDIS_PORT" memory "" "$CONCORD_TEST_REDIS_TLS_PORT" \
  "$CONCORD_TEST_TLS_DIR/servers.pem" "$CONCORD_TEST_TLS_DIR/servers-key.pem" "$CONCORD_TEST_TLS_DIR/ca.pem"
export CONCORD_TEST_SCRATCH="$root"

# Real clients run from one throwaway virtual environment: stock discord.py from PyPI (with
# zstandard it asks for compress=zstd-stream, as it does by default on Python 3.14), and Selenium
# driving Debian's headless Chromium for the web client.
venv="$root/venv"
if python3 -m venv "$venv" >/dev/null 2>&1; then
  export CONCORD_TEST_PYTHON="$venv/bin/python"
  if "$venv/bin/pip" install -q discord.py zstandard >/dev/null 2>&1; then
    export CONCORD_TEST_DISCORDPY=1
  else
    log "WARNING: could not install discord.py from PyPI; the discord.py test will be skipped"
  fi
  # REST fuzzing: schemathesis driven by Discord's own OpenAPI spec (shared/, beside the checkout).
  spec="$(cd .. && pwd)/shared/discord-openapi.json"
  if [ -f "$spec" ] && "$venv/bin/pip" install -q schemathesis jsonschema >/dev/null 2>&1; then
    export CONCORD_TEST_SCHEMATHESIS=1 CONCORD_TEST_SPEC="$spec"
    # Every REST answer and gateway dispatch the tests receive, checked against the spec after the waves.
    export CONCORD_TEST_RESPONSES="$root/responses.jsonl" CONCORD_TEST_EVENTS="$root/events.jsonl"
  else
    log "WARNING: schemathesis or $spec unavailable; REST fuzzing will be skipped"
  fi
  # An S3-compatible server (moto) for the object store's tests, checking every signature.
  if "$venv/bin/pip" install -q "moto[server]" >/dev/null 2>&1 &&
     start_object_store "$root/s3" "${CONCORD_TEST_S3_PORT:-59000}" "$venv"; then
    read -r CONCORD_TEST_S3_ACCESS_KEY CONCORD_TEST_S3_SECRET_KEY < "$root/s3/keys"
    export CONCORD_TEST_S3_URL="http://127.0.0.1:${CONCORD_TEST_S3_PORT:-59000}" CONCORD_TEST_S3_ACCESS_KEY CONCORD_TEST_S3_SECRET_KEY
  else
    log "WARNING: no local S3-compatible server (moto) could be installed or started; the object store tests will be skipped"
  fi
  # The other Discord libraries, each in an environment of its own (py-cord and discord.py are
  # both the `discord` package), installed side by side; one that fails to install is skipped.
  export CONCORD_TEST_LIBRARIES="$root/libraries"
  installs=()
  for library in hikari:hikari disnake:disnake nextcord:nextcord py-cord:py-cord interactions.py:discord-py-interactions; do
    (python3 -m venv "$CONCORD_TEST_LIBRARIES/${library%%:*}" >/dev/null 2>&1 &&
       "$CONCORD_TEST_LIBRARIES/${library%%:*}/bin/pip" install -q "${library#*:}" zstandard >/dev/null 2>&1 ||
       { log "WARNING: could not install ${library#*:} from PyPI; its flow will be skipped"; rm -rf "$CONCORD_TEST_LIBRARIES/${library%%:*}"; }) &
    installs+=($!)
  done
  # The Kubernetes manifests' offline checks: the API schemas (kubernetes-validate) and checkov.
  (python3 -m venv "$root/infra-venv" >/dev/null 2>&1 &&
     "$root/infra-venv/bin/pip" install -q kubernetes-validate checkov >/dev/null 2>&1 ||
     { log "WARNING: could not install kubernetes-validate or checkov from PyPI; the manifests' schema and security checks will be skipped"; rm -rf "$root/infra-venv"; }) &
  installs+=($!)
  wait "${installs[@]}"
  [ -x "$root/infra-venv/bin/python" ] && export CONCORD_TEST_INFRA_PYTHON="$root/infra-venv/bin/python"
  if ensure_browser && "$venv/bin/pip" install -q selenium >/dev/null 2>&1; then
    export CONCORD_TEST_BROWSER=1
  else
    log "WARNING: chromium, chromium-driver or selenium unavailable; the browser test will be skipped"
  fi
else
  log "WARNING: python3 -m venv failed; the discord.py and browser tests will be skipped"
fi
export CONCORD_TEST_ARTIFACTS="$PWD/.build/test-artifacts"
export CONCORD_MIGRATIONS="$PWD/migrations"

swift build --build-tests
if [ $# -gt 0 ]; then
  swift test --skip-build --disable-xctest "$@"
  exit
fi
# Waves, so the suites that start whole clusters do not all share two cores at once (their
# waits are generous, but a machine this small saturates), and the one test that times a link
# crossing runs alone. Every wave runs; the result fails if any wave did.
clusters="GatewayTests|GatewayFaultTests|SubscriptionLevelEndToEndTests|DiscordPyTests|LibraryTests|CellTests|MoveTests|BrowserTests|DirectMessageTests"
# Roles, overwrites, moderation and the audit log: many sessions and clusters of their own, kept
# out of the first wave.
permissions="ChannelPermissionTests|AuditLogTests|VisibilityReplayTests|ModerationTests|RoleTests"
# The hardening tests wait for answers within seconds: they run in the light second wave (the
# first, 140 tests at once, once kept a READY from them for 20 s).
hardening="HardeningTests"
# The operators' tools: each test starts concordctl processes, object stores and archive runs;
# beside the first wave's 140 tests they starved its gateway sessions past their 20-s waits.
operations="ObjectStoreTests|TierTests|WorkspaceExportTests|ConcordCtlJSONTests|AccountAdminTests|KubernetesManifestTests"
timed="crossingTheLinkBetweenRegionsIsPaidOnce"
status=0
swift test --skip-build --disable-xctest --skip "$clusters|$permissions|$hardening|$operations" || status=1
swift test --skip-build --disable-xctest --filter "$operations" || status=1
swift test --skip-build --disable-xctest --filter "$permissions|$hardening" || status=1
swift test --skip-build --disable-xctest --filter "GatewayTests|GatewayFaultTests|SubscriptionLevelEndToEndTests|DiscordPyTests|MoveTests" || status=1
swift test --skip-build --disable-xctest --filter "CellTests|BrowserTests|DirectMessageTests" --skip "$timed" || status=1
# Six libraries, one after another, each at both regions' edges.
swift test --skip-build --disable-xctest --filter "LibraryTests" || status=1
swift test --skip-build --disable-xctest --filter "$timed" || status=1
# Discord's OpenAPI spec is the contract: every REST answer and every gateway object the tests
# received must validate against it (per operation and event in .build/test-artifacts/).
if [ -n "${CONCORD_TEST_RESPONSES:-}" ] && [ -f "$CONCORD_TEST_RESPONSES" ]; then
  mkdir -p "$CONCORD_TEST_ARTIFACTS"
  "$CONCORD_TEST_PYTHON" Tests/Spec/validate_responses.py "$CONCORD_TEST_SPEC" "$CONCORD_TEST_RESPONSES" --strict > "$CONCORD_TEST_ARTIFACTS/spec-report.txt" || status=1
  log "$(head -1 "$CONCORD_TEST_ARTIFACTS/spec-report.txt") — per operation in .build/test-artifacts/spec-report.txt"
  grep "^  BAD" -A6 "$CONCORD_TEST_ARTIFACTS/spec-report.txt" || true
fi
if [ -n "${CONCORD_TEST_EVENTS:-}" ] && [ -f "$CONCORD_TEST_EVENTS" ]; then
  "$CONCORD_TEST_PYTHON" Tests/Spec/validate_events.py "$CONCORD_TEST_SPEC" "$CONCORD_TEST_EVENTS" --strict > "$CONCORD_TEST_ARTIFACTS/events-report.txt" || status=1
  log "$(head -1 "$CONCORD_TEST_ARTIFACTS/events-report.txt") — per event in .build/test-artifacts/events-report.txt"
  grep "^  BAD" -A6 "$CONCORD_TEST_ARTIFACTS/events-report.txt" || true
fi
exit $status
