#!/usr/bin/env bash
# Stops what up.sh, agent.sh and deps.sh started: every process with a pid file in $STATE_DIR/run.
# NATS, the registry and dockerd are stopped only when our scripts started them (they have a pid file);
# PostgreSQL, and infrastructure that was already running, are left alone.
#
#   ./deploy/local/down.sh           stop; state (identities, logs, data) stays on disk
#   ./deploy/local/down.sh --purge   stop and delete $STATE_DIR
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  echo "usage: $0 [--purge]" >&2
  exit 2
}

main() {
  local purge=no
  (($# <= 1)) || usage
  case ${1:-} in
    '') ;;
    --purge) purge=yes ;;
    *) usage ;;
  esac

  local -a order=()
  local file name owned_nats=no
  if [[ -d $RUN_DIR ]]; then
    # Agents first, so they announce that they leave while the control plane still listens; then the
    # services; then the infrastructure, dockerd last (agents and the registry use it).
    for file in "$RUN_DIR"/agent-*.pid; do
      [[ -e $file ]] && order+=("$(basename "$file" .pid)")
    done
    order+=(gateway router scheduler auth clusters)
    for file in "$RUN_DIR"/*.pid; do
      [[ -e $file ]] || continue
      name=$(basename "$file" .pid)
      case $name in
        agent-* | gateway | router | scheduler | auth | clusters | registry | nats | dockerd) ;;
        *) order+=("$name") ;;
      esac
    done
    order+=(registry nats dockerd)
    if [[ -e $RUN_DIR/nats.pid ]]; then
      owned_nats=yes
    fi
    for name in "${order[@]}"; do
      stop_bg "$name"
    done
  else
    log "nothing to stop: $RUN_DIR does not exist"
  fi

  if [[ $purge == yes ]]; then
    [[ -d $STATE_DIR ]] || {
      log "$STATE_DIR does not exist"
      return 0
    }
    # rm -rf on a path from the environment: only on a directory that looks like ours.
    case $STATE_DIR in
      / | "$REPO_ROOT" | "${HOME:-/root}" | /tmp | /var | /usr | /etc) die "refusing to delete $STATE_DIR" ;;
    esac
    [[ -d $STATE_DIR/run || -f $STATE_DIR/env ]] ||
      die "$STATE_DIR does not look like a Pier state directory (no run/ nor env); not deleting it"
    rm -rf -- "$STATE_DIR"
    log "deleted $STATE_DIR"
    # The event store was in $STATE_DIR/nats, but the read models are in PostgreSQL, which stays.
    if [[ $owned_nats == yes ]]; then
      log "note: the NATS data is gone but the PostgreSQL read models (database pier) still hold the old state;" \
        "after the next up.sh run: node services/clusters/dist/main.js rebuild-projections (with the platform environment)"
    fi
  fi
  log "down"
}

main "$@"
