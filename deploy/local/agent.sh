#!/usr/bin/env bash
# Starts one more local node agent, joined to the cluster `default` of the local deployment (up.sh must
# have run). Its identity is kept in $STATE_DIR/agents/NAME, so a later start rejoins as the same node.
# The agent runs under a supervisor that restarts it when it crashes (run/agent-NAME.pid is the
# supervisor's; the log says each restart); ./deploy/local/down.sh stops both.
#
#   ./deploy/local/agent.sh NAME     NAME: a DNS label, e.g. local-2
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

READY_TIMEOUT=30

usage() {
  echo "usage: $0 NAME   (NAME: a DNS label: a-z, 0-9 and inner '-', 1 to 63 characters)" >&2
  exit 2
}

# identity_field FIELD: prints a field of the agent's identity file, nothing when it is absent. The file
# also holds the node credential: only the field asked for is read out.
identity_field() {
  [[ -r $AGENT_DIR/identity.json ]] || return 0
  jq -r --arg f "$1" '.[$f] // empty' "$AGENT_DIR/identity.json" 2>/dev/null || true
}

# Creates a single-use join token and exports it as PIER_AGENT_JOIN_TOKEN for the agent to inherit. The
# token is shown once by the API and must not end up in a log or a file: it stays in memory.
export_join_token() {
  local body token
  body=$(jq -cn --arg d "local agent $NAME" '{ttlSeconds: 600, maxUses: 1, description: $d}')
  api POST "/clusters/$CLUSTER_ID/join-tokens" "$body"
  if [[ $API_STATUS != 201 ]]; then
    die "POST /api/v1/clusters/$CLUSTER_ID/join-tokens answered $API_STATUS: $API_BODY"
  fi
  token=$(jq -r '.token // empty' <<<"$API_BODY")
  API_BODY=''
  [[ -n $token ]] || die "the join token response has no token"
  export PIER_AGENT_JOIN_TOKEN="$token"
}

# Prints the id of the node of this agent once GET /api/v1/nodes lists it as ready.
ready_node_id() {
  local node_id
  node_id=$(identity_field nodeId)
  # Names are not unique (an earlier node of the same name may still be listed, e.g. as lost or left):
  # when the identity file tells the node id, match on it as well.
  api_list "/nodes?clusterId=$CLUSTER_ID" 2>/dev/null |
    jq -r --arg name "$NAME" --arg id "$node_id" \
      'select(.name == $name and .state == "ready" and ($id == "" or .id == $id)) | .id' |
    head -n 1
}

main() {
  (($# == 1)) || usage
  NAME=$1
  [[ $NAME =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] ||
    die "'$NAME' is not a DNS label (a-z, 0-9 and inner '-', 1 to 63 characters)"
  need_cmd node jq curl
  load_platform_env
  [[ -s $CLUSTER_ID_FILE ]] || die "$CLUSTER_ID_FILE is missing: run ./deploy/local/up.sh first"
  CLUSTER_ID=$(<"$CLUSTER_ID_FILE")
  http_ok "http://127.0.0.1:$PIER_API_PORT/readyz" ||
    die "the gateway does not answer on http://127.0.0.1:$PIER_API_PORT: run ./deploy/local/up.sh first"
  # Once, in this shell: ready_node_id runs in subshells, which reuse the token.
  api_login

  AGENT_DIR="$AGENTS_DIR/$NAME"
  local pidname="agent-$NAME" pid node_id code deadline
  if pid_alive "$RUN_DIR/$pidname.pid"; then
    log "agent $NAME: already running (pid $(<"$RUN_DIR/$pidname.pid"))"
  else
    mkdir -p "$AGENT_DIR"
    chmod 700 "$AGENT_DIR"
    # An identity with a cluster id means the node has joined: it rejoins with its credential. Without
    # one (never started, or stopped between writing its identity and joining) it needs a token.
    if [[ -n $(identity_field clusterId) ]]; then
      log "agent $NAME: rejoining with its stored identity"
      unset PIER_AGENT_JOIN_TOKEN
    else
      log "agent $NAME: joining cluster default with a new single-use join token"
      export_join_token
    fi
    export PIER_AGENT_NAME="$NAME" PIER_AGENT_STATE_DIR="$AGENT_DIR"
    # The agent needs none of the control plane's secrets (signing and encryption keys, the admin
    # password): they stay in this shell, unexported.
    export -n "${PIER_SECRET_ENV_KEYS[@]}"
    # The local engine that deps.sh checked (/var/run/docker.sock), whatever DOCKER_HOST the caller has.
    unset DOCKER_HOST
    # Under a supervisor (lib.sh `supervise`): an agent that crashes is started again and adopts its
    # containers; a stop (down.sh) is not undone. The join token is for the first run only.
    # shellcheck disable=SC2016 # expanded by the inner shell
    start_bg "$pidname" "$LOG_DIR/$pidname.log" bash -c 'source "$1" && shift && supervise "$@"' supervise \
      "$DEPLOY_DIR/lib.sh" "agent $NAME" --forget PIER_AGENT_JOIN_TOKEN -- \
      node "$REPO_ROOT/services/agent/dist/main.js"
    unset PIER_AGENT_JOIN_TOKEN
  fi
  read -r pid <"$RUN_DIR/$pidname.pid"

  deadline=$((SECONDS + READY_TIMEOUT))
  while :; do
    node_id=$(ready_node_id || true)
    if [[ -n $node_id ]]; then
      log "agent $NAME: node $node_id is ready"
      printf '%s\n' "$node_id"
      return 0
    fi
    if ! pid_alive "$RUN_DIR/$pidname.pid"; then
      code=1
      # The exit code is known only when this shell started the agent as its direct child.
      if [[ $START_BG_CHILD == "$pid" ]]; then
        wait "$pid" && code=0 || code=$?
      fi
      log_tail "$pidname"
      rm -f "$RUN_DIR/$pidname.pid" "$RUN_DIR/$pidname.start"
      if ((code == 3)); then
        log "ERROR: agent $NAME: the control plane refused the join (exit code 3); if its identity is stale, remove $AGENT_DIR and run agent.sh again"
        exit 3
      fi
      die "agent $NAME exited (exit code $code; log: $LOG_DIR/$pidname.log)"
    fi
    ((SECONDS < deadline)) ||
      die "agent $NAME is not listed as a ready node after ${READY_TIMEOUT}s (log: $LOG_DIR/$pidname.log)"
    sleep 0.5
  done
}

main "$@"
