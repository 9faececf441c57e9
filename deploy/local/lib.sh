# shellcheck shell=bash disable=SC2034 # its variables are used by the scripts that source it
# Helpers shared by the local deployment scripts (deps.sh, up.sh, agent.sh, down.sh). Source it:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# No `set -euo pipefail` here on purpose: every script that sources this file sets it itself, and
# sourcing the file from an interactive shell must not turn on errexit in that shell.

[[ -n ${PIER_LOCAL_LIB_LOADED:-} ]] && return 0
PIER_LOCAL_LIB_LOADED=1

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$DEPLOY_DIR/../.." && pwd)"

# Everything the local deployment owns lives here: pid files, logs, the data of the processes we start,
# agent identities, the generated environment. `.pier/` is gitignored.
STATE_DIR="${PIER_STATE_DIR:-$REPO_ROOT/.pier}"
# The processes we start run with another working directory, so the path must be absolute.
[[ $STATE_DIR == /* ]] || STATE_DIR="$PWD/$STATE_DIR"
STATE_DIR="${STATE_DIR%/}"
# So that scripts called from here (deps.sh, agent.sh) use the same directory.
export PIER_STATE_DIR="$STATE_DIR"
RUN_DIR="$STATE_DIR/run"
LOG_DIR="$STATE_DIR/logs"
NATS_DIR="$STATE_DIR/nats"
REGISTRY_DIR="$STATE_DIR/registry"
# bcrypt hashes of the platform registry's users (written by deps.sh from PIER_REGISTRY_USER/_PASSWORD).
REGISTRY_HTPASSWD="$STATE_DIR/registry.htpasswd"
AGENTS_DIR="$STATE_DIR/agents"
ENV_FILE="$STATE_DIR/env"
CLUSTER_ID_FILE="$STATE_DIR/cluster-id"

# Variables of the platform environment kept in $ENV_FILE (see up.sh).
PIER_ENV_KEYS=(PIER_PREFIX PIER_NATS_URL PIER_DATABASE_URL PIER_API_PORT PIER_CLUSTERS_PORT PIER_AUTH_PORT PIER_SCHEDULER_PORT
  PIER_ROUTER_PORT PIER_ROUTER_HTTP_PORT PIER_ROUTER_METRICS_PORT PIER_ROUTER_STATE_DIR PIER_BASE_DOMAIN
  PIER_JWT_SECRET PIER_SECRETS_KEY PIER_INTERNAL_TOKEN PIER_ADMIN_EMAIL PIER_ADMIN_PASSWORD
  PIER_REGISTRY_USER PIER_REGISTRY_PASSWORD PIER_REGISTRY_PORT PIER_NODE_LOST_AFTER_MS)
# The secrets among them: the control-plane services get them, agents do not (agent.sh un-exports them).
PIER_SECRET_ENV_KEYS=(PIER_JWT_SECRET PIER_SECRETS_KEY PIER_INTERNAL_TOKEN PIER_ADMIN_PASSWORD PIER_REGISTRY_PASSWORD)

log() {
  printf '[pier %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

# Creates the state directory tree. Private: it holds agent credentials and the environment file.
init_state_dirs() {
  mkdir -p "$RUN_DIR" "$LOG_DIR" "$NATS_DIR" "$REGISTRY_DIR" "$AGENTS_DIR"
  chmod 700 "$STATE_DIR"
}

# is_listening PORT: true when some socket listens on TCP PORT (any address).
is_listening() {
  [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
}

# log_tail NAME [LINES]: prints the end of $LOG_DIR/NAME.log to stderr, if there is one.
log_tail() {
  local file="$LOG_DIR/$1.log"
  [[ -f $file ]] || return 0
  {
    printf -- '----- last %s lines of %s -----\n' "${2:-40}" "$file"
    tail -n "${2:-40}" "$file"
    printf -- '-----\n'
  } >&2
}

# wait_for_port PORT TIMEOUT_S NAME: waits until PORT listens. Gives up early, showing the log, when
# NAME is a process we started (run/NAME.pid) and it has exited.
wait_for_port() {
  local port=$1 timeout=$2 name=$3
  local deadline=$((SECONDS + timeout))
  until is_listening "$port"; do
    if [[ -e $RUN_DIR/$name.pid ]] && ! pid_alive "$RUN_DIR/$name.pid"; then
      log "$name exited before listening on port $port"
      log_tail "$name"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "$name is not listening on port $port after ${timeout}s"
      log_tail "$name"
      return 1
    fi
    sleep 0.2
  done
}

# _proc_stat PID: prints "STATE PGRP STARTTIME" of a process, from /proc/PID/stat. STARTTIME is in clock
# ticks since boot, so it identifies a process even after its pid has been reused.
_proc_stat() {
  local stat rest
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  # The command name (field 2) is in parentheses and may contain spaces: split after its last ')'.
  rest=${stat##*) }
  local -a f
  read -ra f <<<"$rest"
  printf '%s %s %s\n' "${f[0]}" "${f[2]}" "${f[19]}"
}

# pid_alive PIDFILE: true when the process named in PIDFILE runs. When we started it (start_bg), the
# `.start` file next to the pid file holds its start time, so a pid reused by an unrelated process after
# a crash or a reboot does not count as alive, and stop_bg never signals a stranger.
pid_alive() {
  local pidfile=$1 pid='' state start recorded=''
  [[ -r $pidfile ]] || return 1
  read -r pid <"$pidfile" || [[ -n $pid ]] || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  read -r state _ start < <(_proc_stat "$pid") || return 1
  # An exited child that its parent has not reaped yet still has a /proc entry.
  [[ $state != Z && $state != X ]] || return 1
  if [[ -r ${pidfile%.pid}.start ]]; then
    read -r recorded <"${pidfile%.pid}.start" || true
    [[ -z $recorded || $recorded == "$start" ]] || return 1
  fi
  return 0
}

# start_bg NAME LOGFILE CMD...: starts CMD detached from this shell (own session, stdin from /dev/null,
# output appended to LOGFILE) and records its pid in run/NAME.pid. Does nothing when that process still
# runs. Never pass secrets as arguments (they would be visible in `ps` and in the log): put them in the
# environment, which the process inherits. Sets START_BG_CHILD to the pid that `wait` can reap here.
START_BG_CHILD=''
start_bg() {
  local name=$1 logfile=$2
  shift 2
  local pidfile="$RUN_DIR/$name.pid" pid='' i stat
  START_BG_CHILD=''
  if pid_alive "$pidfile"; then
    read -r pid <"$pidfile" || true
    log "$name: already running (pid $pid)"
    return 0
  fi
  rm -f "$pidfile" "${pidfile%.pid}.start"
  mkdir -p "$RUN_DIR" "$(dirname "$logfile")"
  printf '\n===== %s: starting %s: %s\n' "$(date -Is)" "$name" "$*" >>"$logfile"
  # setsid puts the process in its own session and process group: Ctrl-C in the terminal that ran
  # up.sh and the end of the calling shell (or CI step) do not reach it, and stop_bg can signal the
  # whole group. setsid forks when its caller already leads a process group, so `$!` is not always the
  # final pid: the inner shell writes its own pid and then execs the command, which keeps that pid.
  # shellcheck disable=SC2016 # expanded by the inner shell
  setsid bash -c 'echo "$$" >"$1.tmp" && mv -f "$1.tmp" "$1" && shift && exec "$@"' "pier-$name" "$pidfile" "$@" \
    </dev/null >>"$logfile" 2>&1 &
  START_BG_CHILD=$!
  for ((i = 0; i < 50; i++)); do
    [[ -s $pidfile ]] && break
    sleep 0.1
  done
  [[ -s $pidfile ]] || die "$name: did not start (no pid file after 5 s); see $logfile"
  read -r pid <"$pidfile"
  if stat=$(_proc_stat "$pid"); then
    printf '%s\n' "${stat##* }" >"${pidfile%.pid}.start"
  fi
  log "$name: started (pid $pid, log $logfile)"
}

# stop_bg NAME: stops the process of run/NAME.pid: SIGTERM, up to 15 s to exit, then SIGKILL to its
# process group. Removes the pid file. Does nothing when there is no pid file.
stop_bg() {
  local name=$1
  local pidfile="$RUN_DIR/$name.pid" pid='' pgrp='' deadline
  [[ -e $pidfile ]] || return 0
  if pid_alive "$pidfile"; then
    read -r pid <"$pidfile"
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 15))
    while pid_alive "$pidfile" && ((SECONDS < deadline)); do
      sleep 0.2
    done
    if pid_alive "$pidfile"; then
      log "$name: still running 15 s after SIGTERM; sending SIGKILL"
      read -r _ pgrp _ < <(_proc_stat "$pid") || true
      # start_bg made it the leader of its own process group; kill the group so no child survives it.
      if [[ ${pgrp:-} == "$pid" ]]; then
        kill -KILL -- "-$pid" 2>/dev/null || true
      else
        kill -KILL "$pid" 2>/dev/null || true
      fi
      sleep 0.5
    fi
    log "$name: stopped (pid $pid)"
  else
    log "$name: not running (stale pid file removed)"
  fi
  rm -f "$pidfile" "${pidfile%.pid}.start"
}

# curl for our own endpoints only: never through a proxy, whatever the environment says.
local_curl() {
  curl --noproxy '*' --silent --show-error --max-time 10 "$@"
}

# http_ok URL: true when URL answers 2xx.
http_ok() {
  curl --noproxy '*' --silent --fail --max-time 5 --output /dev/null "$1"
}

# random_base64 BYTES: prints BYTES random bytes in standard base64 (with padding), on one line.
random_base64() {
  if command -v openssl >/dev/null 2>&1; then
    openssl rand -base64 "$1" | tr -d '\n'
  else
    head -c "$1" /dev/urandom | base64 -w 0
  fi
}

# random_base64url BYTES: prints BYTES random bytes in base64url without padding.
random_base64url() {
  random_base64 "$1" | tr '+/' '-_' | tr -d '='
}

# The access token of the platform admin, kept in this shell only (never exported, never in a file).
# Functions that run in a subshell, like `$(api_list ...)`, see the token only when the script logged in
# before: call api_login in the main shell first, or every subshell logs in again.
API_TOKEN=''
API_TOKEN_UNTIL=0 # $SECONDS after which the token is considered expired

# api_login: logs in as $PIER_ADMIN_EMAIL / $PIER_ADMIN_PASSWORD (from $ENV_FILE, see load_platform_env)
# unless this shell holds a valid token already. Dies on failure, without retrying: the API blocks an
# email or address for a while after 5 failed logins.
api_login() {
  ((${#API_TOKEN} > 0 && SECONDS < API_TOKEN_UNTIL)) && return 0
  [[ -n ${PIER_ADMIN_EMAIL:-} && -n ${PIER_ADMIN_PASSWORD:-} ]] ||
    die "PIER_ADMIN_EMAIL and PIER_ADMIN_PASSWORD are not set (nor in $ENV_FILE): run ./deploy/local/up.sh first"
  local out status retry_after body expires
  # The password goes from a builtin (printf) through pipes into jq and curl: it is in no command line
  # (`ps`) and no file. A NUL separates the two values, which cannot contain one.
  # shellcheck disable=SC2016 # a jq program
  out=$(printf '%s\0%s' "$PIER_ADMIN_EMAIL" "$PIER_ADMIN_PASSWORD" |
    jq -Rsc 'split("\u0000") | {email: .[0], password: .[1]}' |
    curl --noproxy '*' --silent --max-time 30 -X POST -H 'accept: application/json' \
      -H 'content-type: application/json' --data-binary @- \
      --write-out '\n%{http_code} %header{retry-after}' \
      "http://127.0.0.1:${PIER_API_PORT:?}/api/v1/auth/login") || out=$'\n000 '
  body=${out%$'\n'*}
  read -r status retry_after <<<"${out##*$'\n'}"
  case $status in
    200) ;;
    401) die "login as $PIER_ADMIN_EMAIL refused (401 $(printf '%s' "$body" | jq -r '.error.code // empty' 2>/dev/null)):" \
      "PIER_ADMIN_PASSWORD does not match. auth creates that admin once per event store (NATS prefix" \
      "${PIER_PREFIX:-pier}), with the password it had then; a password generated later (new or upgraded" \
      "$ENV_FILE) does not replace it. Put the first password in $ENV_FILE as PIER_ADMIN_PASSWORD, or set" \
      "PIER_ADMIN_EMAIL there to a new address and run down.sh and up.sh (auth then creates that admin)." \
      "Not retrying: repeated failures block logins for a while." ;;
    429) die "login as $PIER_ADMIN_EMAIL blocked after repeated failures (429); retry after ${retry_after:-?} s" ;;
    000) die "cannot reach the gateway on http://127.0.0.1:$PIER_API_PORT to log in" ;;
    *) die "POST /api/v1/auth/login answered $status: $body" ;;
  esac
  API_TOKEN=$(printf '%s' "$body" | jq -r '.accessToken // empty')
  expires=$(printf '%s' "$body" | jq -r '.expiresIn // 900')
  [[ -n $API_TOKEN ]] || die "the login response has no access token"
  [[ $expires =~ ^[0-9]+$ ]] || expires=900
  # A margin (60 s, at most half the lifetime), so that a token does not expire between this check and
  # the request.
  API_TOKEN_UNTIL=$((SECONDS + expires - (expires / 2 < 60 ? expires / 2 : 60)))
}

# api METHOD PATH [JSON_BODY]: calls the gateway at /api/v1PATH as the platform admin (logging in first
# when needed, see api_login). Sets API_STATUS (000 when unreachable) and API_BODY. The body stays in
# memory: responses may hold secrets (join tokens).
API_STATUS=''
API_BODY=''
api() {
  local method=$1 path=$2 body=${3:-} out
  api_login
  local -a args=(-X "$method" -H 'accept: application/json' --write-out '\n%{http_code}')
  [[ -n $body ]] && args+=(-H 'content-type: application/json' --data-binary "$body")
  # The bearer header is read from a pipe (process substitution, fed by the printf builtin): curl's
  # command line shows only `-H @/dev/fd/N`, never the token.
  if ! out=$(curl --noproxy '*' --silent --max-time 15 "${args[@]}" \
    -H @<(printf 'Authorization: Bearer %s\n' "$API_TOKEN") \
    "http://127.0.0.1:${PIER_API_PORT:?}/api/v1$path"); then
    API_STATUS=000
    API_BODY=''
    return 0
  fi
  API_STATUS=${out##*$'\n'}
  API_BODY=${out%$'\n'*}
}

# api_list PATH: prints every item of a paged list endpoint (`{items, nextCursor}`), one JSON per line.
api_list() {
  local path=$1 sep='?' cursor=''
  [[ $path == *'?'* ]] && sep='&'
  while :; do
    if [[ -n $cursor ]]; then
      api GET "$path${sep}limit=1000&cursor=$(jq -rn --arg c "$cursor" '$c | @uri')"
    else
      api GET "$path${sep}limit=1000"
    fi
    [[ $API_STATUS == 200 ]] || {
      log "GET /api/v1$path answered $API_STATUS: $API_BODY"
      return 1
    }
    jq -c '.items[]' <<<"$API_BODY"
    cursor=$(jq -r '.nextCursor // empty' <<<"$API_BODY")
    [[ -n $cursor ]] || return 0
  done
}

# load_platform_env: reads $ENV_FILE (written by up.sh) and exports the platform variables. A variable
# already set in the caller's environment wins over the file.
load_platform_env() {
  [[ -r $ENV_FILE ]] || die "$ENV_FILE is missing: run ./deploy/local/up.sh first"
  local key
  local -A caller=()
  for key in "${PIER_ENV_KEYS[@]}"; do
    [[ -n ${!key:-} ]] && caller[$key]=${!key}
  done
  # shellcheck source=/dev/null # generated by up.sh
  source "$ENV_FILE"
  for key in "${!caller[@]}"; do
    printf -v "$key" '%s' "${caller[$key]}"
  done
  export "${PIER_ENV_KEYS[@]}"
}

# need_cmd CMD...: fails with a clear message when a command is missing.
need_cmd() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is not installed; run ./deploy/local/deps.sh first"
  done
}

# ----- Supervisor -----
# supervise NAME [--forget VAR]... -- CMD...: runs CMD, and runs it again when it exits abnormally: killed
# by a signal, or with an exit code other than those in SUPERVISE_FINAL_CODES (0: a clean stop; 2: a bad
# configuration and 3: refused by the control plane, which a restart would only repeat). Restarts wait
# SUPERVISE_MIN_DELAY seconds, doubling up to SUPERVISE_MAX_DELAY, back to the minimum once a run lasted
# SUPERVISE_RESET_AFTER seconds. SIGTERM or SIGINT is passed on to CMD and ends supervision when CMD has
# exited, so a stop (stop_bg, down.sh) is never undone. The variables named with --forget reach the first
# run only (a single-use join token is no use again, and should not linger in a process environment).
# Every start and exit is logged. Runs in the foreground: start it with start_bg.
SUPERVISE_MIN_DELAY=${SUPERVISE_MIN_DELAY:-1}
SUPERVISE_MAX_DELAY=${SUPERVISE_MAX_DELAY:-30}
SUPERVISE_RESET_AFTER=${SUPERVISE_RESET_AFTER:-60}
SUPERVISE_FINAL_CODES=${SUPERVISE_FINAL_CODES:-'0 2 3'}

_SUPERVISED_PID=''
_SUPERVISE_STOP=''
_SUPERVISE_STATUS=''

_supervise_on_signal() {
  _SUPERVISE_STOP=$1
  [[ -n $_SUPERVISED_PID ]] && kill -"$1" "$_SUPERVISED_PID" 2>/dev/null
  return 0
}

# _supervise_wait PID: waits until PID (a child of this shell) has exited, through any trapped signal,
# and sets _SUPERVISE_STATUS to its exit status. Not in a subshell: only this shell can wait for it.
_supervise_wait() {
  local pid=$1
  while :; do
    wait "$pid"
    _SUPERVISE_STATUS=$?
    # A trapped signal interrupts `wait` (status > 128) while the child still runs: wait again.
    kill -0 "$pid" 2>/dev/null || break
  done
}

# _supervise_describe STATUS: how a process with exit status STATUS ended, in words.
_supervise_describe() {
  if (($1 > 128)); then
    printf 'killed by SIG%s' "$(kill -l "$(($1 - 128))" 2>/dev/null || echo "$(($1 - 128))")"
  else
    printf 'exit code %s' "$1"
  fi
}

supervise() {
  local name=$1 delay=$SUPERVISE_MIN_DELAY began status ran var
  shift
  local -a forget=()
  while [[ ${1:-} == --forget ]]; do
    forget+=("$2")
    shift 2
  done
  [[ ${1:-} == -- ]] && shift
  (($# > 0)) || die "supervise $name: no command"
  trap '_supervise_on_signal TERM' TERM
  trap '_supervise_on_signal INT' INT
  while :; do
    began=$SECONDS
    "$@" &
    _SUPERVISED_PID=$!
    log "$name: running (pid $_SUPERVISED_PID, supervised by pid $$)"
    for var in "${forget[@]}"; do
      unset "$var"
    done
    _supervise_wait "$_SUPERVISED_PID"
    status=$_SUPERVISE_STATUS
    ran=$((SECONDS - began))
    if [[ -n $_SUPERVISE_STOP ]]; then
      log "$name: stopped on SIG$_SUPERVISE_STOP ($(_supervise_describe "$status")); not restarting"
      exit "$status"
    fi
    if [[ " $SUPERVISE_FINAL_CODES " == *" $status "* ]]; then
      log "$name: exited ($(_supervise_describe "$status")) after ${ran}s; a restart would not change that, not restarting"
      exit "$status"
    fi
    ((ran >= SUPERVISE_RESET_AFTER)) && delay=$SUPERVISE_MIN_DELAY
    log "$name: exited abnormally ($(_supervise_describe "$status")) after ${ran}s; restarting in ${delay}s"
    # Interruptible by a stop, like the run itself.
    sleep "$delay" &
    _SUPERVISED_PID=$!
    _supervise_wait "$_SUPERVISED_PID"
    if [[ -n $_SUPERVISE_STOP ]]; then
      log "$name: stopped on SIG$_SUPERVISE_STOP while waiting to restart"
      exit 0
    fi
    delay=$((delay * 2 > SUPERVISE_MAX_DELAY ? SUPERVISE_MAX_DELAY : delay * 2))
  done
}
