#!/usr/bin/env bash
# Installs the load tools the benchmarks need from Debian when they are missing: `wrk` (HTTP load with
# keep-alive) and `nginx-light` (the reverse proxy bench:router compares Pier's router with, and the
# web server inside its backend image). Idempotent: does nothing when both are installed. The
# distribution's nginx service is never started: bench:router runs its own nginx with its own
# configuration, pid and log files, and port 80 stays free. Needs root only when something is missing.
#
#   bench/deps.sh
set -euo pipefail

PACKAGES=(wrk nginx-light)
POLICY=/usr/sbin/policy-rc.d

log() {
  printf '[bench deps %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

installed() {
  # `dpkg -s` also succeeds for a removed package whose config files remain: check the status.
  dpkg -s "$1" 2>/dev/null | grep -qx 'Status: install ok installed'
}

main() {
  local pkg
  local -a missing=()
  for pkg in "${PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    log "all installed (${PACKAGES[*]})"
    return 0
  fi
  if ((EUID != 0)); then
    log "ERROR: missing packages: ${missing[*]}; run bench/deps.sh as root to install them"
    exit 1
  fi

  local nginx_was_running=no our_policy=no
  pgrep -x nginx >/dev/null 2>&1 && nginx_was_running=yes
  # invoke-rc.d asks policy-rc.d whether a package may start its service; 101 means "no". Ours is put in
  # place only for the install and only when there is none (containers often have one already).
  if [[ ! -e $POLICY ]]; then
    printf '#!/bin/sh\n# Written by Pier bench/deps.sh during an install; removed afterwards.\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"
    our_policy=yes
  fi
  # shellcheck disable=SC2064 # expand $our_policy now
  trap "[[ $our_policy == yes ]] && rm -f '$POLICY'" EXIT

  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The package lists are refreshed only when an install fails: usually they are recent enough.
  if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
  fi

  # Under systemd the unit may have been started all the same: stop what the install started, never an
  # nginx that ran before.
  if [[ $nginx_was_running == no ]] && pgrep -x nginx >/dev/null 2>&1; then
    log "stopping the nginx service the package started"
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
      systemctl stop nginx
      systemctl disable nginx >/dev/null 2>&1 || true
    elif [[ -f /run/nginx.pid ]]; then
      kill "$(cat /run/nginx.pid)" 2>/dev/null || true
    fi
  fi
  log "installed ${missing[*]}"
}

main "$@"
