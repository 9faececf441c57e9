#!/usr/bin/env bash
# Builds what the benchmarks need (cached by Nx), then runs one: `bench/run.sh <name> [--quick] [--opt=value]`.
# `npm run bench:<name> -- --quick` calls this. Exit status: 0 measured, 2 could not measure, 64 bad options.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
name=${1:?usage: bench/run.sh <name> [options]}
shift
[[ -f bench/src/$name.ts ]] || {
  echo "bench: no benchmark named $name (bench/src/$name.ts)" >&2
  exit 64
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Load tools from Debian (wrk, nginx-light) when missing; a no-op when installed.
if ! bash bench/deps.sh 2>"$log"; then
  cat "$log" >&2
  echo "bench: bench/deps.sh failed" >&2
  exit 2
fi
if ! npx nx run @pier/bench:build --output-style=static >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "bench: the build failed" >&2
  exit 2
fi
exec node "bench/dist/$name.js" "$@"
