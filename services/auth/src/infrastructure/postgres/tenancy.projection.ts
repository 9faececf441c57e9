import { type PierEvent, type Subjects, unlimitedQuota } from '@pier/contracts';
import { type StoredEvent } from '@pier/eventstore';
import { type Projection } from '@pier/persistence';
import { type EntityManager } from 'typeorm';

/** Users, sessions, API tokens, spaces, members and secret metadata, as authorization and the API read them. */
export const tenancyProjection = (subjects: Subjects): Projection<PierEvent> => ({
  name: 'tenancy-read-model',
  filterSubject: subjects.context('tenancy'),
  tables: ['users', 'sessions', 'api_tokens', 'spaces', 'space_members', 'secrets'],
  apply: ({ event, position }: StoredEvent<PierEvent>, m: EntityManager) =>
    applyTenancyEvent(event, position, m),
});

async function applyTenancyEvent(event: PierEvent, position: number, m: EntityManager): Promise<void> {
  const at = event.metadata.occurredAt;
  switch (event.type) {
    case 'UserRegistered': {
      const d = event.data;
      await m.query(
        `INSERT INTO users (id, email, display_name, platform_role, personal_space, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
        [d.userId, d.email, d.displayName, d.platformRole, d.personalSpace, at],
      );
      return;
    }
    case 'SessionStarted':
      await m.query('INSERT INTO sessions (id, user_id, expires_at, ended) VALUES ($1, $2, $3, false)', [
        event.data.sessionId,
        event.data.userId,
        event.data.expiresAt,
      ]);
      return;
    case 'SessionRefreshed':
      await m.query('UPDATE sessions SET expires_at = $2 WHERE id = $1', [
        event.data.sessionId,
        event.data.expiresAt,
      ]);
      return;
    case 'SessionEnded':
      await m.query('UPDATE sessions SET ended = true WHERE id = $1', [event.data.sessionId]);
      return;
    case 'ApiTokenCreated': {
      const d = event.data;
      await m.query(
        `INSERT INTO api_tokens (id, user_id, name, secret_sha256, spaces, expires_at, revoked, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, false, $7)`,
        [
          d.tokenId,
          d.userId,
          d.name,
          d.secretSha256,
          d.spaces === null ? null : JSON.stringify(d.spaces),
          d.expiresAt,
          at,
        ],
      );
      return;
    }
    case 'ApiTokenRevoked':
      await m.query('UPDATE api_tokens SET revoked = true WHERE id = $1', [event.data.tokenId]);
      return;
    case 'SpaceCreated':
      await m.query('DELETE FROM space_members WHERE space = $1', [event.data.space]);
      await m.query('DELETE FROM secrets WHERE space = $1', [event.data.space]);
      await m.query(
        `INSERT INTO spaces (name, kind, display_name, quota, created_at, deleted, deleting, created_position)
         VALUES ($1, $2, $3, $4, $5, false, false, $6)
         ON CONFLICT (name) DO UPDATE SET kind = $2, display_name = $3, quota = $4, created_at = $5, deleted = false,
           deleting = false, created_position = $6`,
        [
          event.data.space,
          event.data.kind,
          event.data.displayName,
          JSON.stringify(unlimitedQuota),
          at,
          position,
        ],
      );
      return;
    case 'SpaceUpdated':
      await m.query('UPDATE spaces SET display_name = $2 WHERE name = $1', [
        event.data.space,
        event.data.displayName,
      ]);
      return;
    case 'SpaceMemberSet':
      await m.query(
        `INSERT INTO space_members (space, user_id, role, since) VALUES ($1, $2, $3, $4)
         ON CONFLICT (space, user_id) DO UPDATE SET role = $3`,
        [event.data.space, event.data.userId, event.data.role, at],
      );
      return;
    case 'SpaceMemberRemoved':
      await m.query('DELETE FROM space_members WHERE space = $1 AND user_id = $2', [
        event.data.space,
        event.data.userId,
      ]);
      return;
    case 'SpaceQuotaSet':
      await m.query('UPDATE spaces SET quota = $2 WHERE name = $1', [
        event.data.space,
        JSON.stringify(event.data.quota),
      ]);
      return;
    case 'SpaceDeletionRequested':
      await m.query('UPDATE spaces SET deleting = true WHERE name = $1', [event.data.space]);
      return;
    case 'SpaceDeleted':
      await m.query('UPDATE spaces SET deleted = true, deleting = false WHERE name = $1', [event.data.space]);
      await m.query('DELETE FROM space_members WHERE space = $1', [event.data.space]);
      await m.query('DELETE FROM secrets WHERE space = $1', [event.data.space]);
      return;
    case 'SecretStored':
      // Metadata only: the ciphertext stays in the event store, and no plaintext ever reaches this table.
      await m.query(
        `INSERT INTO secrets (space, name, kind, metadata, version, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $5)
         ON CONFLICT (space, name) DO UPDATE SET kind = $3, metadata = $4, version = secrets.version + 1, updated_at = $5`,
        [event.data.space, event.data.name, event.data.kind, JSON.stringify(event.data.metadata), at],
      );
      return;
    case 'SecretDeleted':
      await m.query('DELETE FROM secrets WHERE space = $1 AND name = $2', [
        event.data.space,
        event.data.name,
      ]);
      return;
    default:
      return; // UserEmailReserved, UserPasswordChanged: nothing to show
  }
}
