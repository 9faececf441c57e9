import {
  type AuditEntry,
  type MemberView,
  PierError,
  type Quota,
  type SecretView,
  type SpaceRole,
  type SpaceView,
  type UserView,
} from '@pier/contracts';
import { type DataSource } from 'typeorm';
import {
  type ApiTokenRecord,
  type Page,
  type SessionRecord,
  type TenancyReadModel,
} from '../../application/ports';

type Row = Record<string, unknown>;
const iso = (v: unknown) => new Date(v as string).toISOString();

/** Queries over the tenancy read model; pages are keyset-paginated with an opaque cursor. */
export class PostgresTenancyReadModel implements TenancyReadModel {
  constructor(private readonly db: DataSource) {}

  async user(userId: string): Promise<UserView | null> {
    const [row] = await this.db.query('SELECT * FROM users WHERE id = $1', [userId]);
    return row ? toUser(row) : null;
  }

  async listUsers(page: { limit: number; cursor?: string }): Promise<Page<UserView>> {
    const after = page.cursor ? decodeCursor(page.cursor, isEmail) : '';
    const rows: Row[] = await this.db.query('SELECT * FROM users WHERE email > $1 ORDER BY email LIMIT $2', [
      after,
      page.limit + 1,
    ]);
    const items = rows.slice(0, page.limit).map(toUser);
    return {
      items,
      nextCursor: rows.length > page.limit ? encodeCursor(items[items.length - 1]!.email) : null,
    };
  }

  async session(sessionId: string): Promise<SessionRecord | null> {
    const [row] = await this.db.query('SELECT * FROM sessions WHERE id = $1', [sessionId]);
    return row ? { id: row.id, userId: row.user_id, ended: row.ended, expiresAt: iso(row.expires_at) } : null;
  }

  async sessionWithUser(
    sessionId: string,
  ): Promise<{ session: SessionRecord; user: UserView | null } | null> {
    const [row] = await this.db.query(
      `SELECT s.id AS session_id, s.user_id AS session_user_id, s.ended, s.expires_at, u.*
       FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.id = $1`,
      [sessionId],
    );
    if (!row) return null;
    const session = {
      id: row.session_id,
      userId: row.session_user_id,
      ended: row.ended,
      expiresAt: iso(row.expires_at),
    };
    return { session, user: row.id ? toUser(row) : null };
  }

  async apiToken(tokenId: string): Promise<ApiTokenRecord | null> {
    const [row] = await this.db.query('SELECT * FROM api_tokens WHERE id = $1', [tokenId]);
    return row ? toToken(row) : null;
  }

  async apiTokens(userId: string): Promise<ApiTokenRecord[]> {
    const rows: Row[] = await this.db.query(
      'SELECT * FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC',
      [userId],
    );
    return rows.map(toToken);
  }

  async space(name: string): Promise<SpaceView | null> {
    const [row] = await this.db.query(
      `SELECT s.*, (SELECT count(*) FROM space_members m WHERE m.space = s.name) AS member_count
       FROM spaces s WHERE s.name = $1 AND NOT s.deleted AND NOT s.deleting`,
      [name],
    );
    return row ? toSpace(row) : null;
  }

  async role(space: string, userId: string): Promise<SpaceRole | null> {
    const [row] = await this.db.query('SELECT role FROM space_members WHERE space = $1 AND user_id = $2', [
      space,
      userId,
    ]);
    return (row?.role as SpaceRole | undefined) ?? null;
  }

  async spaceAccess(space: string, userId: string): Promise<{ exists: boolean; role: SpaceRole | null }> {
    const [row] = await this.db.query(
      `SELECT EXISTS (SELECT 1 FROM spaces s WHERE s.name = $1 AND NOT s.deleted AND NOT s.deleting) AS exists,
              (SELECT role FROM space_members m WHERE m.space = $1 AND m.user_id = $2) AS role`,
      [space, userId],
    );
    const exists = row.exists === true;
    return { exists, role: exists ? ((row.role as SpaceRole | null) ?? null) : null };
  }

  async spacesOf(userId: string): Promise<string[]> {
    const rows: Row[] = await this.db.query(
      'SELECT space FROM space_members WHERE user_id = $1 ORDER BY space',
      [userId],
    );
    return rows.map((r) => r.space as string);
  }

  async listSpaces(query: { memberId: string | null; limit: number; cursor?: string }) {
    const after = query.cursor ? decodeCursor(query.cursor, isName) : '';
    const rows: Row[] = await this.db.query(
      `SELECT s.*, (SELECT count(*) FROM space_members m WHERE m.space = s.name) AS member_count,
              (SELECT role FROM space_members m WHERE m.space = s.name AND m.user_id = $1) AS role
       FROM spaces s
       WHERE NOT s.deleted AND NOT s.deleting AND s.name > $2
         AND ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM space_members m WHERE m.space = s.name AND m.user_id = $1))
       ORDER BY s.name LIMIT $3`,
      [query.memberId, after, query.limit + 1],
    );
    const items = rows
      .slice(0, query.limit)
      .map((r) => ({ ...toSpace(r), role: (r.role as SpaceRole | null) ?? null }));
    return {
      items,
      nextCursor: rows.length > query.limit ? encodeCursor(items[items.length - 1]!.name) : null,
    };
  }

  async deletingSpaces(): Promise<string[]> {
    const rows: Row[] = await this.db.query('SELECT name FROM spaces WHERE deleting ORDER BY name');
    return rows.map((r) => r.name as string);
  }

  async ownedSpaceCount(userId: string): Promise<number> {
    const [row] = await this.db.query(
      `SELECT count(*) AS n FROM space_members m JOIN spaces s ON s.name = m.space
       WHERE m.user_id = $1 AND m.role = 'owner' AND s.kind = 'organization' AND NOT s.deleted`,
      [userId],
    );
    return Number(row.n);
  }

  async members(space: string): Promise<MemberView[]> {
    const rows: Row[] = await this.db.query(
      `SELECT m.user_id, m.role, m.since, u.email, u.display_name FROM space_members m JOIN users u ON u.id = m.user_id
       WHERE m.space = $1 ORDER BY u.email`,
      [space],
    );
    return rows.map((r) => ({
      userId: r.user_id as string,
      email: r.email as string,
      displayName: r.display_name as string,
      role: r.role as SpaceRole,
      since: iso(r.since),
    }));
  }

  async quota(space: string): Promise<Quota | null> {
    return (await this.space(space))?.quota ?? null;
  }

  async secrets(space: string): Promise<SecretView[]> {
    const rows: Row[] = await this.db.query('SELECT * FROM secrets WHERE space = $1 ORDER BY name', [space]);
    return rows.map(toSecret);
  }

  async secret(space: string, name: string): Promise<SecretView | null> {
    const [row] = await this.db.query('SELECT * FROM secrets WHERE space = $1 AND name = $2', [space, name]);
    return row ? toSecret(row) : null;
  }

  async audit(query: {
    space: string | null;
    actor?: string;
    action?: string;
    from?: string;
    to?: string;
    limit: number;
    cursor?: string;
  }): Promise<Page<AuditEntry>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, value: unknown) => {
      params.push(value);
      where.push(clause.replace('?', `$${params.length}`));
    };
    if (query.space !== null) {
      add('space = ?', query.space);
      // Only this space's own records: none of an earlier space that had its name.
      add('position > coalesce((SELECT created_position FROM spaces WHERE name = ?), 0)', query.space);
    }
    if (query.actor) add('actor_id = ?', query.actor);
    if (query.action) add('action = ?', query.action);
    if (query.from) add('at >= ?', query.from);
    if (query.to) add('at < ?', query.to);
    if (query.cursor) add('position < ?', decodeCursor(query.cursor, isPosition));
    params.push(query.limit + 1);
    const rows: Row[] = await this.db.query(
      `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY position DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, query.limit).map(toAudit);
    return {
      items,
      nextCursor: rows.length > query.limit ? encodeCursor(items[items.length - 1]!.id) : null,
    };
  }
}

const toUser = (r: Row): UserView => ({
  id: r.id as string,
  email: r.email as string,
  displayName: r.display_name as string,
  platformRole: r.platform_role as UserView['platformRole'],
  personalSpace: r.personal_space as string,
  createdAt: iso(r.created_at),
});

const toToken = (r: Row): ApiTokenRecord => ({
  id: r.id as string,
  userId: r.user_id as string,
  name: r.name as string,
  secretSha256: r.secret_sha256 as string,
  spaces: (r.spaces as string[] | null) ?? null,
  expiresAt: r.expires_at ? iso(r.expires_at) : null,
  revoked: r.revoked as boolean,
  createdAt: iso(r.created_at),
});

const toSpace = (r: Row): SpaceView => ({
  name: r.name as string,
  kind: r.kind as SpaceView['kind'],
  displayName: r.display_name as string,
  quota: r.quota as Quota,
  memberCount: Number(r.member_count ?? 0),
  createdAt: iso(r.created_at),
});

const toSecret = (r: Row): SecretView => ({
  space: r.space as string,
  name: r.name as string,
  kind: r.kind as SecretView['kind'],
  metadata: r.metadata as Record<string, unknown>,
  version: r.version as number,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const toAudit = (r: Row): AuditEntry => ({
  id: String(r.position),
  at: iso(r.at),
  actor: { kind: r.actor_kind as string, id: r.actor_id as string },
  correlationId: r.correlation_id as string,
  action: r.action as string,
  method: r.method as string,
  path: r.path as string,
  space: (r.space as string | null) ?? null,
  target: r.target as Record<string, string>,
  status: r.status as number,
  outcome: r.outcome as AuditEntry['outcome'],
  errorCode: (r.error_code as string | null) ?? null,
  ip: (r.ip as string | null) ?? null,
});

function encodeCursor(value: string): string {
  return Buffer.from(value).toString('base64url');
}

/** A user's email (the key users are paged by): text Postgres can compare, so no U+0000. */
const isEmail = (key: string) => key.includes('@') && key.length <= 254 && !key.includes('\u0000');
/** A space's name (a DNS label). */
const isName = (key: string) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(key);
/** An audit position: a positive bigint. */
const isPosition = (key: string) => /^[1-9][0-9]{0,17}$/.test(key);

/**
 * The key a cursor holds, if `encodeCursor` could have made it: it must re-encode to itself (so
 * non-canonical base64url and bytes that are not UTF-8 fail) and be `valid`. Anything else would
 * reach Postgres as a value it refuses (a NUL, a non-number position): a 400 here, not a 500 there.
 */
function decodeCursor(cursor: string, valid: (key: string) => boolean): string {
  const value = Buffer.from(cursor, 'base64url').toString();
  if (encodeCursor(value) !== cursor || !valid(value))
    throw new PierError('VALIDATION_FAILED', 'the page cursor is not one this API produced');
  return value;
}
