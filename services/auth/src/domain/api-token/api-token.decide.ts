import {
  ApiTokenCreated,
  type ApiTokenEvent,
  ApiTokenRevoked,
  createMessage,
  PierError,
} from '@pier/contracts';
import { type CommandContext } from '../clock';
import { type ApiTokenState } from './api-token.state';

/**
 * How long a token stored without an expiry (created before every token had one) lives: 90 days from
 * its creation. Fixed rather than the configurable maximum, so that changing the setting later neither
 * revives nor kills those old tokens.
 */
export const LEGACY_TOKEN_LIFETIME_S = 90 * 24 * 3600;

/** What a token may reach: its spaces (null: every space of its user) until its expiry. */
export interface TokenScope {
  readonly spaces: readonly string[] | null;
  readonly expiresAt: string;
}

/** When a token stops working: its expiry, or 90 days after its creation for a token stored without one. */
export function tokenExpiry(token: Pick<ApiTokenState, 'expiresAt' | 'createdAt'>): string {
  return (
    token.expiresAt ?? new Date(Date.parse(token.createdAt) + LEGACY_TOKEN_LIFETIME_S * 1000).toISOString()
  );
}

/**
 * The scope of the token a request was made with, to bound the tokens it creates. A token that is not
 * the caller's, or no longer works, has no scope to lend.
 */
export function callerScope(token: ApiTokenState | null, userId: string, now: string): TokenScope {
  if (!token || token.userId !== userId || apiTokenStatus(token, now) !== 'active')
    throw new PierError('UNAUTHENTICATED', 'the API token of this request is not valid');
  return { spaces: token.spaces, expiresAt: tokenExpiry(token) };
}

/**
 * A personal API token. Its expiry lies in the future and at most `maxLifetimeSeconds` ahead (absent:
 * exactly that far, or the calling token's expiry if sooner). A token limited to spaces may only name
 * spaces its owner belongs to (`memberOf`). Made with another token (`caller`), it stays within that
 * token's scope: scopes only narrow, so a limited token can never mint a broader one.
 */
export function createApiToken(
  state: ApiTokenState | null,
  cmd: {
    tokenId: string;
    userId: string;
    name: string;
    secretSha256: string;
    expiresAt: string | null;
    spaces: readonly string[] | null;
    memberOf: readonly string[];
    maxLifetimeSeconds: number;
    caller: TokenScope | null;
  },
  ctx: CommandContext,
): ApiTokenEvent[] {
  if (state) return [];
  const now = Date.parse(ctx.now);
  const latest = now + cmd.maxLifetimeSeconds * 1000;
  if (cmd.expiresAt !== null) assertLifetime(Date.parse(cmd.expiresAt), now, latest, cmd.maxLifetimeSeconds);
  if (cmd.caller) assertWithin(cmd.caller, cmd.spaces, cmd.expiresAt);
  const foreign = (cmd.spaces ?? []).filter((s) => !cmd.memberOf.includes(s));
  if (foreign.length > 0) {
    throw new PierError('SPACE_NOT_FOUND', `not a member of: ${foreign.join(', ')}`, { spaces: foreign });
  }
  const expiresAt =
    cmd.expiresAt !== null
      ? Date.parse(cmd.expiresAt)
      : Math.min(latest, cmd.caller ? Date.parse(cmd.caller.expiresAt) : latest);
  return [
    createMessage(
      ApiTokenCreated,
      {
        tokenId: cmd.tokenId,
        userId: cmd.userId,
        name: cmd.name,
        secretSha256: cmd.secretSha256,
        expiresAt: new Date(expiresAt).toISOString(),
        spaces: cmd.spaces ? [...new Set(cmd.spaces)].sort() : null,
      },
      ctx.cause,
      ctx.now,
    ),
  ];
}

function assertLifetime(expiresAt: number, now: number, latest: number, maxSeconds: number): void {
  if (!(expiresAt > now))
    throw new PierError('VALIDATION_FAILED', 'expiresAt must be in the future', { field: 'expiresAt' });
  if (expiresAt > latest) {
    throw new PierError(
      'VALIDATION_FAILED',
      `expiresAt must be at most ${describeSeconds(maxSeconds)} from now (the platform's maximum token lifetime)`,
      { field: 'expiresAt', latest: new Date(latest).toISOString() },
    );
  }
}

function assertWithin(caller: TokenScope, spaces: readonly string[] | null, expiresAt: string | null): void {
  if (caller.spaces !== null) {
    const outside = spaces === null ? null : spaces.filter((s) => !caller.spaces!.includes(s));
    if (outside === null || outside.length > 0) {
      throw new PierError(
        'TOKEN_SCOPE_EXCEEDED',
        outside === null
          ? `this token is limited to ${caller.spaces.join(', ')}: a token it creates must name some of those spaces`
          : `this token is not allowed in: ${outside.join(', ')}`,
        { allowedSpaces: [...caller.spaces], ...(outside ? { spaces: outside } : {}) },
      );
    }
  }
  if (expiresAt !== null && Date.parse(expiresAt) > Date.parse(caller.expiresAt)) {
    throw new PierError(
      'TOKEN_SCOPE_EXCEEDED',
      `this token expires at ${caller.expiresAt}: a token it creates cannot outlive it`,
      { field: 'expiresAt', latest: caller.expiresAt },
    );
  }
}

function describeSeconds(seconds: number): string {
  const [n, unit] =
    seconds % 86400 === 0
      ? [seconds / 86400, 'day']
      : seconds % 3600 === 0
        ? [seconds / 3600, 'hour']
        : [seconds, 'second'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/**
 * Whether a token lies within a caller's scope: no space outside the caller's and no later expiry. A
 * token limited to spaces neither sees nor revokes its user's broader tokens (a leaked one cannot cut its
 * owner off everywhere).
 */
export function withinScope(
  token: Pick<ApiTokenState, 'spaces' | 'expiresAt' | 'createdAt'>,
  caller: TokenScope,
): boolean {
  const spaces = caller.spaces;
  if (spaces !== null && (token.spaces === null || token.spaces.some((s) => !spaces.includes(s))))
    return false;
  return Date.parse(tokenExpiry(token)) <= Date.parse(caller.expiresAt);
}

/**
 * Only the owner revokes a token; someone else's token is answered as not found. Made with another token
 * (`caller`), only a token within its scope.
 */
export function revokeApiToken(
  state: ApiTokenState | null,
  cmd: { tokenId: string; userId: string; caller?: TokenScope | null },
  ctx: CommandContext,
): ApiTokenEvent[] {
  if (!state || state.userId !== cmd.userId)
    throw new PierError('API_TOKEN_NOT_FOUND', `token ${cmd.tokenId} does not exist`);
  if (cmd.caller && !withinScope(state, cmd.caller))
    throw new PierError('TOKEN_SCOPE_EXCEEDED', 'this token may only revoke tokens within its own scope', {
      tokenId: cmd.tokenId,
    });
  if (state.revoked) return [];
  return [createMessage(ApiTokenRevoked, { tokenId: state.id }, ctx.cause, ctx.now)];
}

export function apiTokenStatus(
  token: Pick<ApiTokenState, 'revoked' | 'expiresAt' | 'createdAt'>,
  now: string,
): 'active' | 'expired' | 'revoked' {
  if (token.revoked) return 'revoked';
  if (Date.parse(tokenExpiry(token)) <= Date.parse(now)) return 'expired';
  return 'active';
}
