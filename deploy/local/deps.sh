#!/usr/bin/env bash
# Makes sure the infrastructure of the local deployment runs: NATS (JetStream), PostgreSQL, dockerd, the
# platform registry and the pier/busybox base image. Starts only what is not running yet, so it can run
# any number of times; up.sh and .ci/run both call it. Needs root on a fresh machine (apt, dockerd).
#
#   ./deploy/local/deps.sh            state in $PIER_STATE_DIR, by default <repo>/.pier
#
# Ports: NATS on the port of PIER_NATS_URL when that is a loopback URL (4222 by default), the registry on
# PIER_REGISTRY_PORT (5000), each the caller's value, else the one kept in $PIER_STATE_DIR/env: so a
# second installation with a state directory of its own runs its own NATS and registry.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# apache2-utils: htpasswd, for the registry's bcrypt password file.
# containerd: a dependency of docker.io, named for its client ctr, which the agent uses to remove a task
# the engine lost (PIER_AGENT_CONTAINERD_SOCKET).
PACKAGES=(docker.io containerd nats-server postgresql docker-registry apache2-utils busybox-static haproxy jq curl iproute2)
NATS_PORT=4222 # unless PIER_NATS_URL names another loopback port (see nats_port)
PG_PORT=5432
PG_CLUSTER=main # name of the cluster created when there is none
REGISTRY_PORT=5000 # unless PIER_REGISTRY_PORT says otherwise (see registry_port)
BASE_IMAGE=pier/busybox:latest
DOCKER_SOCKET=/var/run/docker.sock

SUMMARY=()
summary() {
  SUMMARY+=("$(printf '%-11s %s' "$1:" "$2")")
}

# ---------------------------------------------------------------------------------------------- packages
ensure_packages() {
  local pkg
  local -a missing=()
  for pkg in "${PACKAGES[@]}"; do
    # `dpkg -s` also succeeds for a removed package whose config files remain: check the status.
    dpkg -s "$pkg" 2>/dev/null | grep -qx 'Status: install ok installed' || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    summary packages "all installed (${PACKAGES[*]})"
    return 0
  fi
  ((EUID == 0)) || die "missing packages: ${missing[*]}; run deps.sh as root to install them"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The package lists are refreshed only when an install fails: usually they are recent enough, and
  # `apt-get update` is slow.
  if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
  fi
  summary packages "installed ${missing[*]}"
}

# -------------------------------------------------------------------------------------------------- NATS
# The first line a NATS server sends is `INFO {json}`; it says whether JetStream is on.
nats_info() {
  # shellcheck disable=SC2016 # expanded by the inner shell
  timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && IFS= read -r line <&3 && printf "%s\n" "$line"' nats "$NATS_PORT" 2>/dev/null
}

# setting KEY: the caller's value of KEY, else the one kept in $ENV_FILE, else nothing.
setting() {
  if [[ -n ${!1:-} ]]; then
    printf '%s' "${!1}"
  else
    env_file_value "$1"
  fi
}

# The NATS port: that of PIER_NATS_URL when it names one server on loopback. A remote or clustered NATS
# is the operator's to run: only its reachability is checked, by the services.
nats_port() {
  local url
  url=$(setting PIER_NATS_URL)
  if [[ $url =~ ^nats://(127\.0\.0\.1|localhost):([0-9]{1,5})$ ]]; then
    NATS_PORT=${BASH_REMATCH[2]}
  elif [[ -n $url ]]; then
    NATS_PORT=''
  fi
}

registry_port() {
  local port
  port=$(setting PIER_REGISTRY_PORT)
  [[ -z $port ]] && return 0
  [[ $port =~ ^[0-9]{1,5}$ ]] && ((port > 0 && port < 65536)) || die "PIER_REGISTRY_PORT must be a port number, not '$port'"
  REGISTRY_PORT=$port
}

ensure_nats() {
  local how=running info
  if [[ -z $NATS_PORT ]]; then
    summary nats "not managed here: PIER_NATS_URL is $(setting PIER_NATS_URL)"
    return 0
  fi
  if ! is_listening "$NATS_PORT"; then
    start_bg nats "$LOG_DIR/nats.log" /usr/sbin/nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$NATS_DIR"
    wait_for_port "$NATS_PORT" 20 nats || die "NATS did not start"
    how="started (data in $NATS_DIR)"
  elif pid_alive "$RUN_DIR/nats.pid"; then
    how="running (started by us, data in $NATS_DIR)"
  fi
  info=$(nats_info || true)
  [[ $info == INFO* ]] || die "something listens on 127.0.0.1:$NATS_PORT but it is not a NATS server"
  [[ $info == *'"jetstream":true'* ]] || die "the NATS server on port $NATS_PORT runs without JetStream (-js); Pier needs it"
  summary nats "$how, JetStream on, nats://127.0.0.1:$NATS_PORT"
}

# ---------------------------------------------------------------------------------------------- Postgres
psql_ok() {
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -w -tAc 'SELECT 1' postgres >/dev/null 2>&1
}

# ensure_pg_config VERSION CLUSTER FORCE_LISTEN: TCP on 127.0.0.1 and trust for local TCP connections
# (a development machine: anything local may connect as any user without a password). Prints "changed"
# when it edited the configuration.
ensure_pg_config() {
  local ver=$1 name=$2 force_listen=$3 conf hba listen
  conf="/etc/postgresql/$ver/$name/postgresql.conf"
  hba="/etc/postgresql/$ver/$name/pg_hba.conf"
  [[ -f $conf && -f $hba ]] || die "configuration of PostgreSQL cluster $ver/$name not found in /etc/postgresql/$ver/$name"
  # PostgreSQL uses the last setting of a parameter; unset means 'localhost', which includes 127.0.0.1.
  listen=$(sed -nE "s/^[[:space:]]*listen_addresses[[:space:]]*=[[:space:]]*'([^']*)'.*/\1/p" "$conf" | tail -n 1)
  if [[ $force_listen == yes && $listen != 127.0.0.1 ]] ||
    [[ -n $listen && ! $listen =~ (^|,)[[:space:]]*(127\.0\.0\.1|localhost|\*|0\.0\.0\.0)[[:space:]]*(,|$) ]]; then
    # Appended rather than set with pg_conftool, which writes 127.0.0.1 without the quotes it needs.
    printf "listen_addresses = '127.0.0.1'  # added by Pier deploy/local/deps.sh\n" >>"$conf"
    echo changed
  fi
  if ! grep -Eq '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust([[:space:]]|$)' "$hba"; then
    # pg_hba.conf is read top down and the first matching line wins: put ours first.
    sed -i '1i host all all 127.0.0.1/32 trust  # added by Pier deploy/local/deps.sh' "$hba"
    echo changed
  fi
}

ensure_postgres() {
  local how=running line ver='' name='' status='' db created=()
  # pg_lsclusters -h: "VERSION CLUSTER PORT STATUS OWNER DATADIR LOGFILE".
  line=$(pg_lsclusters -h 2>/dev/null | awk -v port="$PG_PORT" '$3 == port { print $1, $2, $4; exit }')
  if [[ -n $line ]]; then
    read -r ver name status <<<"$line"
  fi

  if ! is_listening "$PG_PORT"; then
    ((EUID == 0)) || die "PostgreSQL is not running; run deps.sh as root to start it"
    if [[ -z $ver ]]; then
      if pg_lsclusters -h 2>/dev/null | grep -q .; then
        die "PostgreSQL clusters exist but none uses port $PG_PORT (see pg_lsclusters); start one on $PG_PORT"
      fi
      ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
      [[ -n $ver ]] || die "no PostgreSQL server installed under /usr/lib/postgresql"
      name=$PG_CLUSTER
      log "creating PostgreSQL cluster $ver/$name"
      # initdb refuses to run as root; pg_createcluster runs it as the postgres user.
      pg_createcluster -p "$PG_PORT" "$ver" "$name" >/dev/null
      ensure_pg_config "$ver" "$name" yes >/dev/null
      how="created cluster $ver/$name and started"
    else
      ensure_pg_config "$ver" "$name" no >/dev/null
      how="started cluster $ver/$name"
    fi
    # Without systemd (containers, CI) pg_ctlcluster would hand over to systemctl and fail.
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start
    wait_for_port "$PG_PORT" 30 postgres || die "PostgreSQL did not start (log: /var/log/postgresql/postgresql-$ver-$name.log)"
  fi

  if ! psql_ok; then
    # Typical of the cluster Debian creates at install time: it asks TCP clients for a password.
    [[ -n $ver && $status == online && $EUID == 0 ]] ||
      die "cannot connect to PostgreSQL as postgres on 127.0.0.1:$PG_PORT without a password; it needs 'host all all 127.0.0.1/32 trust' in pg_hba.conf"
    if [[ -n $(ensure_pg_config "$ver" "$name" no) ]]; then
      log "PostgreSQL $ver/$name: added trust for 127.0.0.1 to pg_hba.conf; reloading"
      pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" reload
      sleep 1
    fi
    psql_ok || die "cannot connect to PostgreSQL as postgres on 127.0.0.1:$PG_PORT without a password"
  fi

  for db in pier pier_test; do
    if [[ $(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -w -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" postgres) != 1 ]]; then
      createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres -w "$db"
      created+=("$db")
    fi
  done
  if ((${#created[@]})); then
    summary postgres "$how, 127.0.0.1:$PG_PORT, created databases ${created[*]}"
  else
    summary postgres "$how, 127.0.0.1:$PG_PORT, databases pier and pier_test present"
  fi
}

# ------------------------------------------------------------------------------------------------ Docker
# Always the local engine: a DOCKER_HOST or docker context of the caller must not redirect us.
docker_local() {
  env -u DOCKER_HOST -u DOCKER_CONTEXT docker -H "unix://$DOCKER_SOCKET" "$@"
}

ensure_dockerd() {
  local how=running deadline version
  if ! docker_local info >/dev/null 2>&1; then
    ((EUID == 0)) || die "the Docker engine does not answer on $DOCKER_SOCKET; run deps.sh as root to start dockerd"
    # No userland port proxy: it accepts every connection itself and retries the container for
    # seconds, so the router would never see a refused or overflowing instance. Published ports are
    # iptables NAT rules instead, and a connect failure reaches HAProxy's timeouts and retries.
    # Live restore: containers keep running while dockerd itself restarts (an upgrade, a crash).
    start_bg dockerd "$LOG_DIR/dockerd.log" dockerd --userland-proxy=false --live-restore
    deadline=$((SECONDS + 30))
    until docker_local info >/dev/null 2>&1; do
      if ! pid_alive "$RUN_DIR/dockerd.pid"; then
        log_tail dockerd
        die "dockerd exited"
      fi
      if ((SECONDS >= deadline)); then
        log_tail dockerd
        die "dockerd does not answer on $DOCKER_SOCKET after 30 s"
      fi
      sleep 0.5
    done
    how=started
  elif pid_alive "$RUN_DIR/dockerd.pid"; then
    how="running (started by us)"
  fi
  if pgrep -x docker-proxy >/dev/null 2>&1; then
    log "dockerd: warning: it runs Docker's userland port proxy (docker-proxy); start it with --userland-proxy=false so refused connections reach the router"
  fi
  # The CLI may be newer than the engine; it negotiates the API version down.
  version=$(docker_local version --format '{{.Server.Version}}' 2>/dev/null || echo '?')
  summary dockerd "$how, engine $version, unix://$DOCKER_SOCKET"
}

# ---------------------------------------------------------------------------------------------- registry
# Escapes a string for the replacement part of a sed s|||.
sed_escape() {
  printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'
}

# env_file_value KEY: the value of KEY in $ENV_FILE (empty when the file or the key is missing).
env_file_value() {
  [[ -r $ENV_FILE ]] || return 0
  # A subshell: the file's other settings must not leak into this script.
  (
    # shellcheck source=/dev/null # generated by up.sh and this script
    source "$ENV_FILE"
    printf '%s' "${!1:-}"
  )
}

# The platform registry's user and password: the caller's, else those kept in $ENV_FILE, else generated
# now and added to $ENV_FILE (mode 600; up.sh adds the platform's other settings later). The htpasswd
# file holds their bcrypt hash and is rewritten only when they no longer match it.
ensure_registry_credentials() {
  local key value added=()
  for key in PIER_REGISTRY_USER PIER_REGISTRY_PASSWORD; do
    value=${!key:-}
    [[ -n $value ]] || value=$(env_file_value "$key")
    if [[ -z $value ]]; then
      if [[ $key == PIER_REGISTRY_USER ]]; then value=pier-platform; else value=$(random_base64url 24); fi
      (
        umask 077
        [[ -f $ENV_FILE ]] || printf '# Environment of the local Pier deployment (see deploy/local/up.sh). Holds secrets: keep it private (mode 600).\n'
        printf '%s=%q\n' "$key" "$value"
      ) >>"$ENV_FILE"
      added+=("$key")
    fi
    printf -v "$key" '%s' "$value"
  done
  chmod 600 "$ENV_FILE"
  ((${#added[@]} == 0)) || log "registry: generated ${added[*]} (kept in $ENV_FILE)"
  # -i: the password on standard input, never on a command line.
  if [[ ! -s $REGISTRY_HTPASSWD ]] ||
    ! htpasswd -vi "$REGISTRY_HTPASSWD" "$PIER_REGISTRY_USER" <<<"$PIER_REGISTRY_PASSWORD" >/dev/null 2>&1; then
    (
      umask 077
      htpasswd -ciB "$REGISTRY_HTPASSWD" "$PIER_REGISTRY_USER" <<<"$PIER_REGISTRY_PASSWORD" 2>/dev/null
    ) || die "could not write $REGISTRY_HTPASSWD"
    # The registry reads the file at start only.
    if pid_alive "$RUN_DIR/registry.pid"; then
      log "registry: credentials changed; restarting it"
      stop_bg registry
    fi
  fi
  chmod 600 "$REGISTRY_HTPASSWD"
}

ensure_registry() {
  local how=running template="$DEPLOY_DIR/registry.yml" config="$STATE_DIR/registry.yml" rendered
  ensure_registry_credentials
  # The template quotes the path in single quotes (the project's Prettier style for YAML).
  [[ $STATE_DIR != *[\'$'\n']* ]] || die "the state directory path must not contain a single quote or a newline: $STATE_DIR"
  rendered=$(sed -e "s|@STATE_DIR@|$(sed_escape "$STATE_DIR")|g" -e "s|@REGISTRY_PORT@|$REGISTRY_PORT|g" "$template")
  # Rewrite only on change: a second run must leave everything as it is.
  if [[ ! -f $config || $(<"$config") != "$rendered" ]]; then
    printf '%s\n' "$rendered" >"$config"
    if pid_alive "$RUN_DIR/registry.pid"; then
      log "registry: configuration changed; restarting it"
      stop_bg registry
    fi
  fi

  if ! is_listening "$REGISTRY_PORT"; then
    start_bg registry "$LOG_DIR/registry.log" /usr/bin/docker-registry serve "$config"
    wait_for_port "$REGISTRY_PORT" 20 registry || die "the registry did not start"
    how="started (data in $REGISTRY_DIR)"
  elif pid_alive "$RUN_DIR/registry.pid"; then
    how="running (started by us, data in $REGISTRY_DIR)"
  fi
  local deadline=$((SECONDS + 10))
  # Anonymous requests must be refused, the platform's credentials accepted (the password is read from
  # a pipe: it never shows on a command line).
  until [[ $(curl --noproxy '*' --silent --max-time 5 --output /dev/null --write-out '%{http_code}' "http://127.0.0.1:$REGISTRY_PORT/v2/") == 401 ]] &&
    curl --noproxy '*' --silent --fail --max-time 5 --output /dev/null -K <(printf 'user = "%s:%s"\n' "$PIER_REGISTRY_USER" "$PIER_REGISTRY_PASSWORD") "http://127.0.0.1:$REGISTRY_PORT/v2/"; do
    ((SECONDS < deadline)) || die "port $REGISTRY_PORT listens but http://127.0.0.1:$REGISTRY_PORT/v2/ does not ask for and accept the platform's credentials (another registry?)"
    sleep 0.5
  done
  summary registry "$how, http://127.0.0.1:$REGISTRY_PORT, htpasswd auth (user $PIER_REGISTRY_USER)"
}

# -------------------------------------------------------------------------------------------- base image
# Nothing can be pulled from Docker Hub here, so the base image is made from the static busybox binary.
ensure_base_image() {
  if docker_local image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    summary image "$BASE_IMAGE present"
    return 0
  fi
  [[ -x /bin/busybox ]] || die "/bin/busybox missing (package busybox-static)"
  local root
  root=$(mktemp -d)
  # A subshell, so that its EXIT trap removes the temporary root file system whatever happens.
  (
    # shellcheck disable=SC2064 # expand $root now
    trap "rm -rf '$root'" EXIT
    mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root"
    chmod 1777 "$root/tmp"
    cp /bin/busybox "$root/bin/busybox"
    for applet in $(/bin/busybox --list); do
      [[ $applet == busybox ]] || ln -sf busybox "$root/bin/$applet"
    done
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"
    tar --numeric-owner --owner=0 --group=0 -C "$root" -c . |
      docker_local import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$BASE_IMAGE" >/dev/null
  )
  summary image "$BASE_IMAGE built from /bin/busybox"
}

main() {
  init_state_dirs
  nats_port
  registry_port
  ensure_packages
  ensure_nats
  ensure_postgres
  ensure_dockerd
  ensure_registry
  ensure_base_image
  printf '%s\n' "${SUMMARY[@]}"
}

# Run main only when executed, so that tests can source this file and call single steps.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
