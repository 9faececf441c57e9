import {
  type Capacity,
  createMessage,
  type Engine,
  type Labels,
  NodeCordoned,
  NodeDrainStarted,
  type NodeEvent,
  NodeJoined,
  NodeLabelsSet,
  NodeLeft,
  NodeLost,
  NodeRecovered,
  NodeRejoined,
  NodeUncordoned,
  PierError,
} from '@pier/contracts';
import { type CommandContext } from '../clock';
import { digestsEqual } from '../constant-time';
import { type NodeState } from './node.state';

export interface AgentFacts {
  readonly hostname: string;
  readonly capacity: Capacity;
  readonly engine: Engine;
  readonly agentVersion: string;
}

export interface JoinNodeCommand extends AgentFacts {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly name: string;
  readonly labels: Labels;
  readonly zone: string;
  readonly joinTokenId: string;
  readonly credentialSha256: string;
}

/** A node joins once; the same agent retrying its join (same credential) changes nothing. */
export function joinNode(state: NodeState | null, cmd: JoinNodeCommand, ctx: CommandContext): NodeEvent[] {
  if (state) {
    if (digestsEqual(state.credentialSha256, cmd.credentialSha256)) return [];
    throw new PierError('NODE_ALREADY_JOINED', `node ${cmd.nodeId} already exists`);
  }
  return [createMessage(NodeJoined, cmd, ctx.cause, ctx.now)];
}

/** A known agent started again: it is up, with whatever its engine now reports. */
export function rejoinNode(
  state: NodeState | null,
  cmd: AgentFacts & { nodeId: string; credentialSha256: string },
  ctx: CommandContext,
): NodeEvent[] {
  const node = authenticate(state, cmd);
  const { credentialSha256: _credential, ...facts } = cmd;
  return [createMessage(NodeRejoined, { ...facts, nodeId: node.id }, ctx.cause, ctx.now)];
}

export function leaveNode(
  state: NodeState | null,
  cmd: { nodeId: string; credentialSha256: string; reason: string },
  ctx: CommandContext,
): NodeEvent[] {
  const node = authenticate(state, cmd);
  if (node.liveness === 'left') return [];
  return [createMessage(NodeLeft, { nodeId: node.id, reason: cmd.reason }, ctx.cause, ctx.now)];
}

/** Declared by the liveness monitor; a node that is already lost or gone stays as it is. */
export function markLost(
  state: NodeState | null,
  cmd: { nodeId: string; lastSeenAt: string | null; silentForMs: number },
  ctx: CommandContext,
): NodeEvent[] {
  if (!state || state.liveness !== 'up') return [];
  return [createMessage(NodeLost, cmd, ctx.cause, ctx.now)];
}

export function markRecovered(
  state: NodeState | null,
  cmd: { nodeId: string },
  ctx: CommandContext,
): NodeEvent[] {
  if (!state || state.liveness !== 'lost') return [];
  return [createMessage(NodeRecovered, { nodeId: cmd.nodeId }, ctx.cause, ctx.now)];
}

export function setLabels(
  state: NodeState | null,
  cmd: { nodeId: string; labels: Labels },
  ctx: CommandContext,
): NodeEvent[] {
  const node = requireNode(state, cmd.nodeId);
  if (sameLabels(node.labels, cmd.labels)) return [];
  return [createMessage(NodeLabelsSet, { nodeId: node.id, labels: cmd.labels }, ctx.cause, ctx.now)];
}

/**
 * Scheduling changes. `cordon` stops new placements; `drain` also moves existing instances away (the
 * move itself belongs to the scheduler); `uncordon` returns the node to service. Repeating a change is
 * a no-op; a node that has left cannot be changed.
 */
export function changeScheduling(
  state: NodeState | null,
  cmd: { nodeId: string; action: 'cordon' | 'uncordon' | 'drain' },
  ctx: CommandContext,
): NodeEvent[] {
  const node = requireNode(state, cmd.nodeId);
  if (node.liveness === 'left') {
    throw new PierError('NODE_HAS_LEFT', `node ${node.id} has left the cluster`, { nodeId: node.id });
  }
  const data = { nodeId: node.id };
  switch (cmd.action) {
    case 'cordon':
      return node.scheduling === 'schedulable' ? [createMessage(NodeCordoned, data, ctx.cause, ctx.now)] : [];
    case 'uncordon':
      return node.scheduling === 'schedulable'
        ? []
        : [createMessage(NodeUncordoned, data, ctx.cause, ctx.now)];
    case 'drain':
      return node.scheduling === 'draining'
        ? []
        : [createMessage(NodeDrainStarted, data, ctx.cause, ctx.now)];
  }
}

function requireNode(state: NodeState | null, nodeId: string): NodeState {
  if (!state) throw new PierError('NODE_NOT_FOUND', `node ${nodeId} does not exist`, { nodeId });
  return state;
}

function authenticate(state: NodeState | null, cmd: { nodeId: string; credentialSha256: string }): NodeState {
  const node = requireNode(state, cmd.nodeId);
  if (!digestsEqual(node.credentialSha256, cmd.credentialSha256)) {
    throw new PierError('NODE_CREDENTIAL_INVALID', `the credential of node ${cmd.nodeId} does not match`);
  }
  return node;
}

function sameLabels(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}
