import { type ClusterView, type JoinTokenView, type NodeView } from '@pier/contracts';
import { type ClusterState, type JoinTokenState, tokenStatus } from '../domain/cluster/cluster.state';
import { displayState, type NodeState } from '../domain/node/node.state';

export function clusterView(
  state: ClusterState,
  counts: { nodeCount: number; readyNodeCount: number },
): ClusterView {
  return {
    id: state.id,
    name: state.name,
    description: state.description,
    state: counts.nodeCount > 0 ? 'ready' : 'pending',
    nodeCount: counts.nodeCount,
    readyNodeCount: counts.readyNodeCount,
    createdAt: state.createdAt,
  };
}

export function joinTokenView(clusterId: string, token: JoinTokenState, now: string): JoinTokenView {
  return {
    id: token.id,
    clusterId,
    description: token.description,
    state: tokenStatus(token, now),
    expiresAt: token.expiresAt,
    maxUses: token.maxUses,
    uses: token.usedBy.length,
    createdAt: token.createdAt,
  };
}

export function nodeView(state: NodeState, lastSeenAt: string | null): NodeView {
  return {
    id: state.id,
    clusterId: state.clusterId,
    name: state.name,
    hostname: state.hostname,
    state: displayState(state),
    liveness: state.liveness,
    scheduling: state.scheduling,
    labels: state.labels,
    zone: state.zone,
    capacity: state.capacity,
    engine: state.engine,
    agentVersion: state.agentVersion,
    joinedAt: state.joinedAt,
    updatedAt: state.updatedAt,
    lastSeenAt,
  };
}
