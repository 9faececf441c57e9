#!/usr/bin/env bash
# Runs every check Pier has (format, lint, types, build, unit, integration, end-to-end) against real
# NATS, Postgres and Docker, starting those first when they are not running. Works on a fresh Debian 12
# machine as root; this is the test command README.md states and .ci/run calls.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

"$ROOT/deploy/local/deps.sh"

# `npm install`, not `npm ci`: the registry mirror lacks some optional platform packages the lock records.
if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi

npm run verify
