#!/usr/bin/env bash
# Sets up and runs the whole platform on this machine (Debian 12, as root): infrastructure (deps.sh),
# npm dependencies, build, the control plane (clusters, auth, scheduler, router and gateway), a cluster
# named `default` and one agent.
# The first run generates the platform environment ($STATE_DIR/env: settings, secrets, the platform
# admin's password) and prints the generated admin password, that one time only.
# Idempotent: what already runs is left alone, so a second run changes nothing.
#
#   ./deploy/local/up.sh             state in $PIER_STATE_DIR, by default <repo>/.pier
#   PIER_LAYOUT=processes ./deploy/local/up.sh
#                                    a process per service (the scale-out layout) instead of the default
#                                    one-process layout: every control-plane service in one Node process
#   ./deploy/local/down.sh           stops it again; the nodes stay in the cluster and their containers
#                                    keep running: the next up.sh restarts the agents, which adopt them
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NODE_MIN_MAJOR=20
NODE_MIN_MINOR=19
READY_TIMEOUT=60
FIRST_AGENT=local-1
PIER_LAYOUT=${PIER_LAYOUT:-one-process}

check_node() {
  command -v node >/dev/null 2>&1 ||
    die "node is not installed; Pier needs Node.js >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR (installing it is not part of this script)"
  local version major minor
  version=$(node -p 'process.versions.node')
  IFS=. read -r major minor _ <<<"$version"
  if ((major < NODE_MIN_MAJOR || (major == NODE_MIN_MAJOR && minor < NODE_MIN_MINOR))); then
    die "node $version is too old; Pier needs Node.js >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR (installing it is not part of this script)"
  fi
  log "node $version"
}

install_and_build() {
  cd "$REPO_ROOT"
  # npm writes node_modules/.package-lock.json at the end of every install: when it is newer than
  # package.json and package-lock.json, node_modules matches them. `npm install`, not `npm ci`: the
  # registry here is a partial mirror and `npm ci` would throw node_modules away first.
  if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ||
    package.json -nt node_modules/.package-lock.json ]]; then
    log "npm install (log: $LOG_DIR/npm-install.log)"
    npm install --no-audit --no-fund >"$LOG_DIR/npm-install.log" 2>&1 || {
      tail -n 40 "$LOG_DIR/npm-install.log" >&2
      die "npm install failed"
    }
  else
    log "node_modules up to date"
  fi
  # Cached by Nx: cheap when nothing changed.
  log "building (npx nx run-many -t build; log: $LOG_DIR/build.log)"
  npx nx run-many -t build >"$LOG_DIR/build.log" 2>&1 || {
    tail -n 60 "$LOG_DIR/build.log" >&2
    die "the build failed"
  }
}

# env_default KEY: prints the value KEY gets when $ENV_FILE lacks it: the caller's, else the default
# (generated for the secrets).
env_default() {
  local key=$1
  if [[ -n ${!key:-} ]]; then
    printf '%s' "${!key}"
    return 0
  fi
  case $key in
    PIER_PREFIX) printf pier ;;
    PIER_NATS_URL) printf 'nats://127.0.0.1:4222' ;;
    PIER_DATABASE_URL) printf 'postgres://postgres@127.0.0.1:5432/pier' ;;
    PIER_API_PORT) printf 4000 ;;
    PIER_CLUSTERS_PORT) printf 4101 ;;
    PIER_AUTH_PORT) printf 4102 ;;
    PIER_SCHEDULER_PORT) printf 4104 ;;
    PIER_ROUTER_PORT) printf 4103 ;;
    PIER_ROUTER_HTTP_PORT) printf 8080 ;;
    PIER_ROUTER_METRICS_PORT) printf 8405 ;;
    # HAProxy's sockets live there: the router refuses a path over 80 characters.
    PIER_ROUTER_STATE_DIR) printf '%s' "$STATE_DIR/router" ;;
    PIER_BASE_DOMAIN) printf 'pier.localhost' ;;
    # A crashed agent is back (supervised, see agent.sh) within about 3 s: its node must not be declared
    # lost and its instances replaced before it can adopt them again.
    PIER_NODE_LOST_AFTER_MS) printf 10000 ;;
    PIER_JWT_SECRET) random_base64url 48 ;;
    PIER_SECRETS_KEY) random_base64 32 ;; # auth wants exactly 32 bytes; standard base64, 44 characters
    PIER_INTERNAL_TOKEN) random_base64url 32 ;;
    PIER_ADMIN_EMAIL) printf 'admin@pier.localhost' ;;
    PIER_ADMIN_PASSWORD) random_base64url 18 ;;
    # The platform registry's port (deps.sh, run before, started it there).
    PIER_REGISTRY_PORT) printf 5000 ;;
    # The registry's htpasswd file is made from these: deps.sh (run before) generates them.
    PIER_REGISTRY_USER | PIER_REGISTRY_PASSWORD) die "$key is missing from $ENV_FILE: deps.sh sets it up" ;;
    *) die "no default for $key" ;;
  esac
}

# The platform environment is generated once and kept, so agent.sh and later runs use the same values.
# Values set by the caller win, both when the file is generated and when it is read. A file written by
# an earlier version of this script gets the keys it lacks appended; its existing lines stay as they are.
# Sets ADMIN_PASSWORD_GENERATED=yes when this run generated the admin password.
ADMIN_PASSWORD_GENERATED=no
ensure_env_file() {
  local key value tmp="$ENV_FILE.tmp" action=wrote
  local -a missing=()
  for key in "${PIER_ENV_KEYS[@]}"; do
    # Lines of the form KEY=... (what this script writes), or export KEY=...
    if [[ ! -f $ENV_FILE ]] || ! grep -Eq "^[[:space:]]*(export[[:space:]]+)?$key=" "$ENV_FILE"; then
      missing+=("$key")
    fi
  done
  if ((${#missing[@]})); then
    [[ -f $ENV_FILE ]] && action="added ${missing[*]} to"
    (
      umask 077 # secrets: readable by the owner only
      {
        if [[ -f $ENV_FILE ]]; then
          cat "$ENV_FILE"
          # A hand-edited file may lack the final newline.
          [[ -z $(tail -c 1 "$ENV_FILE") ]] || printf '\n'
          printf '# Added by deploy/local/up.sh on %s.\n' "$(date -Is)"
        else
          printf '# Environment of the local Pier deployment, generated by deploy/local/up.sh on %s.\n' "$(date -Is)"
          printf '# Sourced by up.sh and agent.sh; a variable set in their environment wins over this file.\n'
          printf '# Holds secrets (signing and encryption keys, the admin password): keep it private (mode 600).\n'
        fi
        for key in "${missing[@]}"; do
          value=$(env_default "$key")
          [[ -n $value ]] || die "could not generate a value for $key"
          printf '%s=%q\n' "$key" "$value"
        done
      } >"$tmp"
    ) || {
      rm -f "$tmp"
      die "could not write $ENV_FILE"
    }
    mv -f "$tmp" "$ENV_FILE"
    if [[ -z ${PIER_ADMIN_PASSWORD:-} && " ${missing[*]} " == *' PIER_ADMIN_PASSWORD '* ]]; then
      ADMIN_PASSWORD_GENERATED=yes
      log "generated a password for the platform admin (PIER_ADMIN_PASSWORD in $ENV_FILE); printed once, at the end of this run"
    fi
    log "$action $ENV_FILE"
  fi
  chmod 600 "$ENV_FILE"
  load_platform_env
}

# launch NAME SCRIPT: starts node SCRIPT as NAME unless it runs, under a supervisor (lib.sh `supervise`,
# like the agents): a process that crashes is started again, a stop (down.sh) is not undone. run/NAME.pid
# is the supervisor's; the log says each (re)start.
launch() {
  local name=$1 script=$2
  # shellcheck disable=SC2016 # expanded by the inner shell
  start_bg "$name" "$LOG_DIR/$name.log" bash -c 'source "$1" && shift && supervise "$@"' supervise \
    "$DEPLOY_DIR/lib.sh" "$name" -- node "$script"
}

# wait_ready SERVICE PORT PROCESS: waits until SERVICE answers /readyz on PORT; dies when PROCESS (the
# supervised process that runs it) exits or the service is not ready in time.
wait_ready() {
  local service=$1 port=$2 process=$3 deadline
  deadline=$((SECONDS + READY_TIMEOUT))
  until http_ok "http://127.0.0.1:$port/readyz"; do
    if ! pid_alive "$RUN_DIR/$process.pid"; then
      log_tail "$process"
      die "$process exited (log: $LOG_DIR/$process.log)"
    fi
    if ((SECONDS >= deadline)); then
      log_tail "$process"
      die "$service is not ready after ${READY_TIMEOUT}s: http://127.0.0.1:$port/readyz (log: $LOG_DIR/$process.log)"
    fi
    sleep 0.5
  done
  log "$service: ready (http://127.0.0.1:$port/readyz)"
}

# start_service NAME PORT: starts services/NAME/dist/main.js in a process of its own (the `processes`
# layout) unless it runs, then waits for /readyz.
start_service() {
  local name=$1 port=$2
  if ! pid_alive "$RUN_DIR/$name.pid" && is_listening "$port"; then
    die "$name: port $port is already in use by a process not started from $STATE_DIR (ss -ltnp 'sport = :$port')"
  fi
  launch "$name" "$REPO_ROOT/services/$name/dist/main.js"
  wait_ready "$name" "$port" "$name"
}

# start_platform: starts services/platform/dist/main.js, every control-plane service in one process (the
# `one-process` layout), unless it runs. Returns once clusters is ready: the others start after it in
# that process, and `wait_ready` waits for them.
start_platform() {
  local port
  if ! pid_alive "$RUN_DIR/platform.pid"; then
    for port in "$PIER_CLUSTERS_PORT" "$PIER_AUTH_PORT" "$PIER_SCHEDULER_PORT" "$PIER_ROUTER_PORT" "$PIER_API_PORT"; do
      is_listening "$port" &&
        die "port $port is already in use by a process not started from $STATE_DIR (ss -ltnp 'sport = :$port'); with PIER_LAYOUT=processes before, run down.sh first"
    done
  fi
  launch platform "$REPO_ROOT/services/platform/dist/main.js"
  wait_ready clusters "$PIER_CLUSTERS_PORT" platform
}

find_cluster_id() {
  api_list /clusters | jq -r 'select(.name == "default") | .id' | head -n 1
}

ensure_default_cluster() {
  local id deadline
  id=$(find_cluster_id) || die "cannot list clusters"
  if [[ -z $id ]]; then
    api POST /clusters '{"name":"default"}'
    case $API_STATUS in
      201) log "created cluster default ($(jq -r .id <<<"$API_BODY"))" ;;
      409) [[ $(jq -r '.error.code // empty' <<<"$API_BODY") == CLUSTER_NAME_TAKEN ]] ||
        die "POST /api/v1/clusters answered 409: $API_BODY" ;;
      *) die "POST /api/v1/clusters answered $API_STATUS: $API_BODY" ;;
    esac
    # The list is a read model that follows the event stream: wait until the cluster shows up in it,
    # so agent.sh and anyone else reading it next finds it.
    deadline=$((SECONDS + 30))
    until id=$(find_cluster_id) && [[ -n $id ]]; do
      ((SECONDS < deadline)) || die "cluster default does not appear in GET /api/v1/clusters after 30 s"
      sleep 0.5
    done
  fi
  if [[ ! -f $CLUSTER_ID_FILE || $(<"$CLUSTER_ID_FILE") != "$id" ]]; then
    printf '%s\n' "$id" >"$CLUSTER_ID_FILE"
  fi
  log "cluster default: $id"
}

main() {
  check_node # first: a missing Node.js should not cost a run of deps.sh
  init_state_dirs
  "$DEPLOY_DIR/deps.sh"
  install_and_build
  ensure_env_file

  # Services started before a new build keep running the old code; down.sh and up.sh restart them.
  # Agents stopped by down.sh come back once clusters is ready, before the scheduler runs: their nodes
  # heartbeat again well within the node-lost window, so their running containers are adopted, not
  # replaced. Auth creates the first platform admin from PIER_ADMIN_EMAIL / PIER_ADMIN_PASSWORD when it
  # is missing; the router drives HAProxy (started and supervised by it): every app's HTTP traffic.
  local -a rejoined=()
  case $PIER_LAYOUT in
    one-process)
      start_platform
      mapfile -t rejoined < <("$DEPLOY_DIR/agent.sh" --rejoin-all)
      wait_ready auth "$PIER_AUTH_PORT" platform
      wait_ready scheduler "$PIER_SCHEDULER_PORT" platform
      wait_ready router "$PIER_ROUTER_PORT" platform
      wait_ready gateway "$PIER_API_PORT" platform
      ;;
    processes)
      start_service clusters "$PIER_CLUSTERS_PORT"
      mapfile -t rejoined < <("$DEPLOY_DIR/agent.sh" --rejoin-all)
      start_service auth "$PIER_AUTH_PORT"
      start_service scheduler "$PIER_SCHEDULER_PORT"
      start_service router "$PIER_ROUTER_PORT"
      start_service gateway "$PIER_API_PORT"
      ;;
    *) die "PIER_LAYOUT must be one-process (the default: the control plane in one Node process) or processes (a process per service); it is '$PIER_LAYOUT'" ;;
  esac
  # Once, in this shell: the API calls below run partly in subshells, which reuse the token.
  api_login
  ensure_default_cluster

  # Joins (or rejoins) the first agent, or waits until its node is ready when it runs already.
  local node_id name
  node_id=$("$DEPLOY_DIR/agent.sh" "$FIRST_AGENT")
  for name in "${rejoined[@]}"; do
    [[ $name == "$FIRST_AGENT" ]] || "$DEPLOY_DIR/agent.sh" "$name" >/dev/null
  done

  cat <<EOF

Pier is running.
  API:          http://127.0.0.1:$PIER_API_PORT/api/v1
  apps:         http://<app>.<space>.$PIER_BASE_DOMAIN:$PIER_ROUTER_HTTP_PORT (router; HAProxy metrics on 127.0.0.1:$PIER_ROUTER_METRICS_PORT/metrics)
  cluster:      default ($(<"$CLUSTER_ID_FILE")), agent $FIRST_AGENT = node $node_id
  state:        $STATE_DIR (logs in $LOG_DIR)
  more agents:  ./deploy/local/agent.sh NAME
  stop:         ./deploy/local/down.sh   (the nodes stay in the cluster and their containers stay; up.sh
                brings the agents back, which adopt them; --purge also deletes the state and the containers)
  leave:        ./deploy/local/agent.sh --leave [--drain] NAME   (one node), ./deploy/local/down.sh --leave (all)
EOF
  # printf, not the here-document: the password goes to the terminal only, and only on the run that
  # generated it.
  if [[ $ADMIN_PASSWORD_GENERATED == yes ]]; then
    printf '  admin:        %s\n' "$PIER_ADMIN_EMAIL"
    printf '  password:     %s\n' "$PIER_ADMIN_PASSWORD"
    printf '                (generated now and shown only this once; kept in %s as PIER_ADMIN_PASSWORD)\n' "$ENV_FILE"
  else
    printf '  log in:       PIER_ADMIN_EMAIL and PIER_ADMIN_PASSWORD in %s\n' "$ENV_FILE"
  fi
}

main "$@"
