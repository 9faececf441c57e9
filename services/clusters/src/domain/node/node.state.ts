import {
  type Capacity,
  type Engine,
  type Labels,
  type NodeEvent,
  type NodeState as NodeDisplayState,
} from '@pier/contracts';

export type Liveness = 'up' | 'lost' | 'left';
export type Scheduling = 'schedulable' | 'cordoned' | 'draining';

export interface NodeState {
  readonly id: string;
  readonly clusterId: string;
  readonly name: string;
  readonly hostname: string;
  readonly labels: Labels;
  readonly zone: string;
  readonly capacity: Capacity;
  readonly engine: Engine;
  readonly agentVersion: string;
  readonly credentialSha256: string;
  readonly liveness: Liveness;
  readonly scheduling: Scheduling;
  readonly joinedAt: string;
  readonly updatedAt: string;
}

export function evolveNode(state: NodeState | null, event: NodeEvent): NodeState | null {
  const at = event.metadata.occurredAt;
  if (event.type === 'NodeJoined') {
    const d = event.data;
    return {
      id: d.nodeId,
      clusterId: d.clusterId,
      name: d.name,
      hostname: d.hostname,
      labels: d.labels,
      zone: d.zone,
      capacity: d.capacity,
      engine: d.engine,
      agentVersion: d.agentVersion,
      credentialSha256: d.credentialSha256,
      liveness: 'up',
      scheduling: 'schedulable',
      joinedAt: at,
      updatedAt: at,
    };
  }
  if (!state) return state;
  const next = (change: Partial<NodeState>): NodeState => ({ ...state, ...change, updatedAt: at });
  switch (event.type) {
    case 'NodeRejoined':
      return next({
        hostname: event.data.hostname,
        capacity: event.data.capacity,
        engine: event.data.engine,
        agentVersion: event.data.agentVersion,
        liveness: 'up',
      });
    case 'NodeLost':
      return next({ liveness: 'lost' });
    case 'NodeRecovered':
      return next({ liveness: 'up' });
    case 'NodeLeft':
      return next({ liveness: 'left' });
    case 'NodeLabelsSet':
      return next({ labels: event.data.labels });
    case 'NodeCordoned':
      return next({ scheduling: 'cordoned' });
    case 'NodeUncordoned':
      return next({ scheduling: 'schedulable' });
    case 'NodeDrainStarted':
      return next({ scheduling: 'draining' });
  }
}

/** The single state shown to users: liveness problems first, then scheduling. */
export function displayState(node: Pick<NodeState, 'liveness' | 'scheduling'>): NodeDisplayState {
  if (node.liveness === 'lost') return 'lost';
  if (node.liveness === 'left') return 'left';
  if (node.scheduling === 'draining') return 'draining';
  if (node.scheduling === 'cordoned') return 'cordoned';
  return 'ready';
}
