import { type InstanceEvent, type InstanceState as Phase } from '@pier/contracts';

export interface InstanceState {
  readonly id: string;
  readonly space: string;
  readonly app: string;
  readonly version: number;
  readonly clusterId: string;
  /** The instance this one replaces (drain, rebalance), if any. */
  readonly replaces: string | null;
  readonly nodeId: string | null;
  readonly phase: Phase;
  readonly reason: string | null;
  readonly code: string | null;
  readonly restarts: number;
  readonly host: string | null;
  readonly hostPorts: readonly { containerPort: number; protocol: string; hostPort: number }[];
  readonly startedAt: string | null;
  readonly stopRequested: boolean;
  readonly updatedAt: string;
}

export function evolveInstance(state: InstanceState | null, event: InstanceEvent): InstanceState | null {
  const at = event.metadata.occurredAt;
  if (event.type === 'InstanceRequested') {
    const d = event.data;
    return {
      id: d.instanceId,
      space: d.space,
      app: d.app,
      version: d.version,
      clusterId: d.clusterId,
      replaces: d.replaces,
      nodeId: null,
      phase: 'pending',
      reason: null,
      code: null,
      restarts: 0,
      host: null,
      hostPorts: [],
      startedAt: null,
      stopRequested: false,
      updatedAt: at,
    };
  }
  if (!state) return state;
  const next = (change: Partial<InstanceState>): InstanceState => {
    // Once a stop is asked for, only the stop itself changes what the instance is doing.
    const phase =
      state.stopRequested && change.phase && change.phase !== 'stopped' ? 'stopping' : change.phase;
    return { ...state, ...change, ...(phase ? { phase } : {}), updatedAt: at };
  };
  switch (event.type) {
    case 'InstanceUnschedulable':
      return next({ phase: 'unschedulable', reason: event.data.reason });
    case 'InstancePlaced':
      // Recorded late (the scheduler appends the node's assignment first, and an outage between the two
      // appends delays this one until the agent has started the instance there): it only names the node.
      if (state.startedAt !== null && (state.nodeId === null || state.nodeId === event.data.nodeId)) {
        return { ...state, nodeId: event.data.nodeId, updatedAt: at };
      }
      return next({ phase: 'starting', nodeId: event.data.nodeId, reason: null });
    case 'InstanceStarted':
      return next({
        phase: 'starting',
        host: event.data.host,
        hostPorts: event.data.hostPorts,
        restarts: event.data.restarts,
        startedAt: at,
        reason: null,
        code: null,
      });
    case 'InstanceReady':
      return next({ phase: 'ready', reason: null });
    case 'InstanceNotReady':
      return next({ phase: 'unhealthy', reason: event.data.reason });
    case 'InstanceExited': {
      const restart =
        event.data.restartInMs === null
          ? ''
          : `; restarting in ${Math.round(event.data.restartInMs / 1000)} s`;
      return next({ phase: 'unhealthy', reason: `${event.data.reason}${restart}` });
    }
    case 'InstanceFailed':
      return next({ phase: 'failed', code: event.data.code, reason: event.data.reason });
    case 'InstanceStopRequested':
      return {
        ...state,
        stopRequested: true,
        phase: 'stopping',
        reason: `stop: ${event.data.reason}`,
        updatedAt: at,
      };
    case 'InstanceStopped':
      return { ...state, phase: 'stopped', updatedAt: at };
  }
}

/** Still counted by the scheduler: not stopped and not asked to stop. */
export const isActive = (i: InstanceState): boolean => !i.stopRequested && i.phase !== 'stopped';
