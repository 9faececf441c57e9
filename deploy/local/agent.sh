#!/usr/bin/env bash
# Starts one more local node agent, joined to the cluster `default` of the local deployment (up.sh must
# have run), or makes one leave the cluster. Its identity is kept in $STATE_DIR/agents/NAME, so a later
# start rejoins as the same node. The agent runs under a supervisor that restarts it when it crashes
# (run/agent-NAME.pid is the supervisor's; the log says each restart); ./deploy/local/down.sh stops both.
#
# Stopping an agent (down.sh, SIGTERM) is not leaving: the node stays in the cluster, its containers keep
# running, and the agent started again (agent.sh NAME, up.sh) adopts them, provided it is back within the
# node-lost window (PIER_NODE_LOST_AFTER_MS, 10 s here). Leaving is explicit:
#
#   ./deploy/local/agent.sh NAME               start (join, or rejoin with the stored identity); waits until
#                                              the node is ready and prints its id
#   ./deploy/local/agent.sh --leave NAME       leave the cluster for good: stops the agent, runs
#                                              `main.js leave` (the node becomes `left`, its instances are
#                                              placed elsewhere, its containers removed), then deletes the
#                                              identity so that no later start brings the node back
#   ./deploy/local/agent.sh --leave --drain NAME
#                                              the same, after draining the node (its instances move, each
#                                              replacement ready before the old one stops): no downtime, but
#                                              it needs another node with room for them
#   ./deploy/local/agent.sh --rejoin-all       (up.sh) starts every stopped agent that has joined, without
#                                              waiting for the API, so they are back before the scheduler
#                                              could see their nodes lost
#
# NAME: a DNS label, e.g. local-2.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

READY_TIMEOUT=30
# How long --drain waits for the node's instances to move away.
DRAIN_TIMEOUT=300
NAME_RE='^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'

usage() {
  echo "usage: $0 NAME | $0 --leave [--drain] NAME | $0 --rejoin-all" >&2
  echo "       (NAME: a DNS label: a-z, 0-9 and inner '-', 1 to 63 characters)" >&2
  exit 2
}

check_name() {
  [[ $1 =~ $NAME_RE ]] || die "'$1' is not a DNS label (a-z, 0-9 and inner '-', 1 to 63 characters)"
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

# agent_env NAME: sets AGENT_DIR and exports what the agent of NAME runs with.
agent_env() {
  AGENT_DIR="$AGENTS_DIR/$1"
  export PIER_AGENT_NAME="$1" PIER_AGENT_STATE_DIR="$AGENT_DIR"
  # The agent needs none of the control plane's secrets (signing and encryption keys, the admin
  # password): they stay in this shell, unexported.
  export -n "${PIER_SECRET_ENV_KEYS[@]}"
  # The local engine that deps.sh checked (/var/run/docker.sock), whatever DOCKER_HOST the caller has.
  unset DOCKER_HOST
}

# start_supervised NAME: starts the agent of NAME (agent_env first) under a supervisor (lib.sh
# `supervise`): an agent that crashes is started again and adopts its containers; a stop (down.sh) is not
# undone. An exported PIER_AGENT_JOIN_TOKEN reaches the first run only.
start_supervised() {
  # shellcheck disable=SC2016 # expanded by the inner shell
  start_bg "agent-$1" "$LOG_DIR/agent-$1.log" bash -c 'source "$1" && shift && supervise "$@"' supervise \
    "$DEPLOY_DIR/lib.sh" "agent $1" --forget PIER_AGENT_JOIN_TOKEN -- \
    node "$REPO_ROOT/services/agent/dist/main.js"
}

# rejoin_all: starts every agent of $AGENTS_DIR that has joined a cluster and is not running, and prints
# their names. Needs neither the gateway nor a token (they rejoin with their identity), so up.sh runs it
# as soon as clusters is up: the nodes heartbeat again before the scheduler starts, and their containers
# are adopted instead of replaced.
rejoin_all() {
  local dir name
  for dir in "$AGENTS_DIR"/*/; do
    [[ -d $dir ]] || continue
    name=$(basename "$dir")
    [[ $name =~ $NAME_RE ]] || continue
    agent_env "$name"
    # Never joined (no cluster id): it needs a join token, which only agent.sh NAME creates.
    [[ -n $(identity_field clusterId) ]] || continue
    pid_alive "$RUN_DIR/agent-$name.pid" && continue
    log "agent $name: rejoining with its stored identity"
    unset PIER_AGENT_JOIN_TOKEN
    start_supervised "$name"
    printf '%s\n' "$name"
  done
}

# node_containers NODE_ID: how many containers of the node the local engine holds, in any state.
node_containers() {
  docker ps --all --quiet --filter "label=pier.node=$1" | wc -l
}

# leave_cluster NAME DRAIN: makes the node of agent NAME leave the cluster for good (draining it first
# when DRAIN is yes), then deletes its identity.
leave_cluster() {
  local name=$1 drain=$2 node_id deadline code=0
  agent_env "$name"
  [[ -n $(identity_field clusterId) ]] ||
    die "agent $name has not joined a cluster (no identity with a cluster id in $AGENT_DIR): nothing to leave"
  node_id=$(identity_field nodeId)
  if [[ $drain == yes ]]; then
    http_ok "http://127.0.0.1:$PIER_API_PORT/readyz" ||
      die "the gateway does not answer on http://127.0.0.1:$PIER_API_PORT: run ./deploy/local/up.sh first"
    api POST "/nodes/$node_id/drain"
    [[ $API_STATUS == 200 ]] || die "POST /api/v1/nodes/$node_id/drain answered $API_STATUS: $API_BODY"
    log "agent $name: draining node $node_id (its instances move to other nodes)"
    deadline=$((SECONDS + DRAIN_TIMEOUT))
    while (($(node_containers "$node_id") > 0)); do
      ((SECONDS < deadline)) ||
        die "node $node_id still runs $(node_containers "$node_id") containers ${DRAIN_TIMEOUT}s after the drain: is there another node with room for them (./deploy/local/agent.sh NAME starts one)? It stays draining; POST /api/v1/nodes/$node_id/uncordon returns it to service, agent.sh --leave $name (without --drain) stops them"
      sleep 1
    done
    log "agent $name: node $node_id is drained"
  fi
  # A stop first (the node stays in the cluster), so that only the leave command acts for the node.
  stop_bg "agent-$name"
  unset PIER_AGENT_JOIN_TOKEN
  log "agent $name: leaving the cluster (log: $LOG_DIR/agent-$name.log)"
  printf '\n===== %s: agent %s: leave\n' "$(date -Is)" "$name" >>"$LOG_DIR/agent-$name.log"
  node "$REPO_ROOT/services/agent/dist/main.js" leave </dev/null >>"$LOG_DIR/agent-$name.log" 2>&1 || code=$?
  if ((code != 0)); then
    log_tail "agent-$name"
    die "agent $name: leaving failed (exit code $code); the agent is stopped and its identity kept: run $0 --leave $name again"
  fi
  # rm -rf on a path built from the environment: only on an agent directory of ours.
  [[ -f $AGENT_DIR/identity.json && $AGENT_DIR == "$AGENTS_DIR/$name" ]] && rm -rf -- "$AGENT_DIR"
  log "agent $name: node $node_id left the cluster, its containers are removed and its identity deleted" \
    "(agent.sh $name would join as a new node)"
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

# start_agent NAME: starts the agent of NAME (joining with a new single-use token the first time, else
# rejoining), or finds it running, then waits until its node is ready and prints the node id.
start_agent() {
  NAME=$1
  [[ -s $CLUSTER_ID_FILE ]] || die "$CLUSTER_ID_FILE is missing: run ./deploy/local/up.sh first"
  CLUSTER_ID=$(<"$CLUSTER_ID_FILE")
  http_ok "http://127.0.0.1:$PIER_API_PORT/readyz" ||
    die "the gateway does not answer on http://127.0.0.1:$PIER_API_PORT: run ./deploy/local/up.sh first"
  # Once, in this shell: ready_node_id runs in subshells, which reuse the token.
  api_login

  agent_env "$NAME"
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
    start_supervised "$NAME"
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

main() {
  need_cmd node jq curl
  case ${1:-} in
    --rejoin-all)
      (($# == 1)) || usage
      load_platform_env
      rejoin_all
      ;;
    --leave)
      local drain=no
      shift
      if [[ ${1:-} == --drain ]]; then
        drain=yes
        shift
      fi
      (($# == 1)) || usage
      check_name "$1"
      need_cmd docker
      load_platform_env
      leave_cluster "$1" "$drain"
      ;;
    -*) usage ;;
    *)
      (($# == 1)) || usage
      check_name "$1"
      load_platform_env
      start_agent "$1"
      ;;
  esac
}

main "$@"
