import { type ClusterEvent } from '@pier/contracts';

export interface JoinTokenState {
  readonly id: string;
  readonly secretSha256: string;
  readonly description: string;
  readonly expiresAt: string;
  readonly maxUses: number | null;
  readonly usedBy: readonly string[];
  readonly revoked: boolean;
  readonly createdAt: string;
}

export interface ClusterState {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly createdAt: string;
  readonly tokens: Readonly<Record<string, JoinTokenState>>;
}

/** State of a cluster that has no events yet. */
export const noCluster = null;

export function evolveCluster(state: ClusterState | null, event: ClusterEvent): ClusterState | null {
  switch (event.type) {
    case 'ClusterCreated':
      return {
        id: event.data.clusterId,
        name: event.data.name,
        description: event.data.description,
        createdAt: event.metadata.occurredAt,
        tokens: {},
      };
    case 'JoinTokenCreated':
      if (!state) return state;
      return {
        ...state,
        tokens: {
          ...state.tokens,
          [event.data.tokenId]: {
            id: event.data.tokenId,
            secretSha256: event.data.secretSha256,
            description: event.data.description,
            expiresAt: event.data.expiresAt,
            maxUses: event.data.maxUses,
            usedBy: [],
            revoked: false,
            createdAt: event.metadata.occurredAt,
          },
        },
      };
    case 'JoinTokenUsed':
    case 'JoinTokenRevoked': {
      const token = state?.tokens[event.data.tokenId];
      if (!state || !token) return state;
      const updated =
        event.type === 'JoinTokenUsed'
          ? { ...token, usedBy: [...token.usedBy, event.data.nodeId] }
          : { ...token, revoked: true };
      return { ...state, tokens: { ...state.tokens, [token.id]: updated } };
    }
  }
}

export type JoinTokenStatus = 'active' | 'expired' | 'revoked' | 'exhausted';

export function tokenStatus(token: JoinTokenState, now: string): JoinTokenStatus {
  if (token.revoked) return 'revoked';
  if (token.maxUses !== null && token.usedBy.length >= token.maxUses) return 'exhausted';
  if (Date.parse(now) >= Date.parse(token.expiresAt)) return 'expired';
  return 'active';
}
