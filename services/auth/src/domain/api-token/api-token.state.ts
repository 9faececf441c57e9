import { type ApiTokenEvent } from '@pier/contracts';

export interface ApiTokenState {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly secretSha256: string;
  /** Null only for tokens created before every token had an expiry (see `tokenExpiry`). */
  readonly expiresAt: string | null;
  readonly spaces: readonly string[] | null;
  readonly revoked: boolean;
  readonly createdAt: string;
}

export function evolveApiToken(state: ApiTokenState | null, event: ApiTokenEvent): ApiTokenState | null {
  switch (event.type) {
    case 'ApiTokenCreated': {
      const d = event.data;
      return {
        id: d.tokenId,
        userId: d.userId,
        name: d.name,
        secretSha256: d.secretSha256,
        expiresAt: d.expiresAt,
        spaces: d.spaces,
        revoked: false,
        createdAt: event.metadata.occurredAt,
      };
    }
    case 'ApiTokenRevoked':
      return state && { ...state, revoked: true };
  }
}
