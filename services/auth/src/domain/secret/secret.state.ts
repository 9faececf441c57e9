import { type SecretEvent } from '@pier/contracts';

export interface SecretState {
  readonly space: string;
  readonly name: string;
  readonly kind: 'generic' | 'registry' | 'tls';
  /** The encrypted value; only `RevealSecret` ever decrypts it. */
  readonly ciphertext: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly deleted: boolean;
}

export function evolveSecret(state: SecretState | null, event: SecretEvent): SecretState | null {
  const at = event.metadata.occurredAt;
  switch (event.type) {
    case 'SecretStored': {
      const fresh = !state || state.deleted;
      return {
        space: event.data.space,
        name: event.data.name,
        kind: event.data.kind,
        ciphertext: event.data.ciphertext,
        metadata: event.data.metadata,
        version: fresh ? 1 : state.version + 1,
        createdAt: fresh ? at : state.createdAt,
        updatedAt: at,
        deleted: false,
      };
    }
    case 'SecretDeleted':
      return state && { ...state, deleted: true, updatedAt: at };
  }
}

/** The aggregate id of a secret: space and name are DNS labels, so `_` cannot occur in either. */
export const secretId = (space: string, name: string): string => `${space}_${name}`;
