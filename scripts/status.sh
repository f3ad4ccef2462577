#!/usr/bin/env bash
# `make status`: the operator view of every cell.
set -euo pipefail
cd "$(dirname "$0")/.."
set -a; . var/secrets.env; set +a
"$(swift build --show-bin-path)/concordctl" cell status --config "${CONCORD_CONFIG:-config/cluster.json}"
