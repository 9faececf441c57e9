import {
  ClusterCreated,
  type ClusterEvent,
  createMessage,
  JoinTokenCreated,
  JoinTokenRevoked,
  JoinTokenUsed,
  PierError,
} from '@pier/contracts';
import { type CommandContext } from '../clock';
import { digestsEqual } from '../constant-time';
import { type ClusterState, tokenStatus } from './cluster.state';

export function createCluster(
  state: ClusterState | null,
  cmd: { clusterId: string; name: string; description: string },
  ctx: CommandContext,
): ClusterEvent[] {
  if (state) return []; // the same command again: already done
  return [createMessage(ClusterCreated, cmd, ctx.cause, ctx.now)];
}

export function createJoinToken(
  state: ClusterState | null,
  cmd: {
    clusterId: string;
    tokenId: string;
    secretSha256: string;
    ttlSeconds: number;
    maxUses: number | null;
    description: string;
  },
  ctx: CommandContext,
): ClusterEvent[] {
  const cluster = requireCluster(state, cmd.clusterId);
  if (cluster.tokens[cmd.tokenId]) return [];
  const expiresAt = new Date(Date.parse(ctx.now) + cmd.ttlSeconds * 1000).toISOString();
  return [
    createMessage(
      JoinTokenCreated,
      {
        clusterId: cluster.id,
        tokenId: cmd.tokenId,
        secretSha256: cmd.secretSha256,
        expiresAt,
        maxUses: cmd.maxUses,
        description: cmd.description,
      },
      ctx.cause,
      ctx.now,
    ),
  ];
}

export function revokeJoinToken(
  state: ClusterState | null,
  cmd: { clusterId: string; tokenId: string },
  ctx: CommandContext,
): ClusterEvent[] {
  const cluster = requireCluster(state, cmd.clusterId);
  const token = cluster.tokens[cmd.tokenId];
  if (!token) throw new PierError('JOIN_TOKEN_NOT_FOUND', `join token ${cmd.tokenId} does not exist`);
  if (token.revoked) return [];
  return [createMessage(JoinTokenRevoked, { clusterId: cluster.id, tokenId: token.id }, ctx.cause, ctx.now)];
}

/**
 * Spends one use of a join token for a node. Joining again with the same node id (a retried join) spends
 * nothing. Every rejection names why, except that an unknown token and a wrong secret look the same.
 */
export function useJoinToken(
  state: ClusterState | null,
  cmd: { tokenId: string; secretSha256: string; nodeId: string },
  ctx: CommandContext,
): ClusterEvent[] {
  const token = state?.tokens[cmd.tokenId];
  if (!state || !token || !digestsEqual(token.secretSha256, cmd.secretSha256)) {
    throw new PierError('JOIN_TOKEN_INVALID', 'the join token is unknown or malformed');
  }
  if (token.usedBy.includes(cmd.nodeId)) return [];
  switch (tokenStatus(token, ctx.now)) {
    case 'revoked':
      throw new PierError('JOIN_TOKEN_REVOKED', 'the join token was revoked');
    case 'expired':
      throw new PierError('JOIN_TOKEN_EXPIRED', `the join token expired at ${token.expiresAt}`);
    case 'exhausted':
      throw new PierError('JOIN_TOKEN_EXHAUSTED', 'the join token has no uses left');
    case 'active':
      return [
        createMessage(
          JoinTokenUsed,
          { clusterId: state.id, tokenId: token.id, nodeId: cmd.nodeId },
          ctx.cause,
          ctx.now,
        ),
      ];
  }
}

function requireCluster(state: ClusterState | null, id: string): ClusterState {
  if (!state) throw new PierError('CLUSTER_NOT_FOUND', `cluster ${id} does not exist`);
  return state;
}
