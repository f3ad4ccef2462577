#!/usr/bin/env bash
# `make soak` (not in CI): the local two-region cluster under mixed load with chaos for
# SOAK_MINUTES (default 30), then an invariant checker; prints its figures (scripts/soak.py
# says what it does and checks). It runs its own cluster beside `make run`'s: other ports, its
# own data, and a copy of the binaries, so building meanwhile does not change what runs.
#   SOAK_MINUTES=30 SOAK_CHAOS_SECONDS=150 SOAK_RATE=20 SOAK_KEEP=1 (keep its data and logs)
#   SOAK_CHAOS=edge,cell,relay,redis,postgres (the chaos steps, taken in turn)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/services.sh
ensure_packages

MINUTES="${SOAK_MINUTES:-30}"
root=$(mktemp -d /var/tmp/concord-soak.XXXXXX)
chmod 755 "$root"
log "soak: $MINUTES minutes; its cluster lives in $root"

log "building"
swift build --product concord > "$root/build.log" 2>&1 && swift build --product concordctl >> "$root/build.log" 2>&1 \
  || { tail -20 "$root/build.log" >&2; log "the build failed"; exit 1; }
mkdir -p "$root/bin"
cp "$(swift build --show-bin-path)"/{concord,concordctl} "$root/bin/"

# The local topology moved to ports of its own (every port + 300, checked not to meet the old).
python3 - "$root" <<'PY'
import json, sys
root = sys.argv[1]
config = json.load(open("config/cluster.json"))
before = set()
def ports(node, shift):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "port":
                before.add(value)
                node[key] = value + shift
            elif key == "public_url":
                host, port = value.rsplit(":", 1)
                node[key] = f"{host}:{int(port) + shift}"
            else:
                ports(value, shift)
    elif isinstance(node, list):
        for item in node:
            ports(item, shift)
ports(config, 300)
after = set()
def collect(node):
    if isinstance(node, dict):
        for key, value in node.items():
            after.add(value) if key == "port" else collect(value)
    elif isinstance(node, list):
        for item in node:
            collect(item)
collect(config)
assert not before & after, f"shifted ports meet the originals: {before & after}"
for cell in config["cells"]:
    cell["tiering"]["archive_dir"] = f"{root}/archive/{cell['name']}"
json.dump(config, open(f"{root}/cluster.json", "w"), indent=2)
PY

export CONCORD_VAR="$root/var" CONCORD_DATA="$root/data" CONCORD_CONFIG="$root/cluster.json" CONCORD_BIN="$root/bin"
mkdir -p "$CONCORD_VAR"
stop_soak() {
  scripts/stop.sh || log "the soak cluster did not stop cleanly; see $root"
  if [ -z "${SOAK_KEEP:-}" ]; then rm -rf "$root"; else log "kept: $root"; fi
}
trap stop_soak EXIT
scripts/run.sh > "$root/run.log" 2>&1 || { tail -20 "$root/run.log" >&2; exit 1; }

python3 -m venv "$root/venv" >/dev/null
"$root/venv/bin/pip" install -q aiohttp > "$root/pip.log" 2>&1 || { tail "$root/pip.log" >&2; log "aiohttp could not be installed"; exit 1; }
log "load, chaos and checks ($(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
status=0
"$root/venv/bin/python" scripts/soak.py --config "$CONCORD_CONFIG" --var "$CONCORD_VAR" --data "$CONCORD_DATA" --bin "$CONCORD_BIN" \
  --seconds "$((MINUTES * 60))" --chaos-seconds "${SOAK_CHAOS_SECONDS:-150}" --rate "${SOAK_RATE:-20}" \
  ${SOAK_CHAOS:+--chaos "$SOAK_CHAOS"} --dump "$root/soak-data.json" | tee "$root/soak.log" || status=$?
mkdir -p var
cp "$root/soak.log" "var/soak-$(date -u +%Y%m%dT%H%M%SZ).log"
echo "process restarts:"
CONCORD_VAR="$root/var" scripts/status.sh 2>/dev/null | sed -n '1,/^$/p' || true
exit "$status"
