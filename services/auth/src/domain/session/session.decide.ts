import {
  createMessage,
  PierError,
  SessionEnded,
  type SessionEvent,
  SessionRefreshed,
  SessionStarted,
} from '@pier/contracts';
import { type CommandContext } from '../clock';
import { digestsEqual } from '../credentials';
import { type SessionState } from './session.state';

/** How long a session lives: `ttlSeconds` between refreshes, and never longer than `maxLifetimeSeconds`. */
export interface SessionLifetime {
  readonly ttlSeconds: number;
  readonly maxLifetimeSeconds: number;
}

export function startSession(
  state: SessionState | null,
  cmd: { sessionId: string; userId: string; refreshSha256: string } & SessionLifetime,
  ctx: CommandContext,
): SessionEvent[] {
  if (state) return [];
  const expiresAt = slidingEnd(ctx.now, ctx.now, cmd);
  return [
    createMessage(
      SessionStarted,
      { sessionId: cmd.sessionId, userId: cmd.userId, refreshSha256: cmd.refreshSha256, expiresAt },
      ctx.cause,
      ctx.now,
    ),
  ];
}

/**
 * Rotates the refresh secret. Presenting a secret that was issued for this session and already rotated
 * away means it leaked (or a client raced itself): the whole session ends, as OAuth's refresh-token
 * rotation recommends. A secret that was never issued for it proves nothing — anyone who knows the
 * session id can make one up — so it is refused and the session left alone. Refreshing moves the
 * sliding window but never past the session's absolute end.
 */
export function refreshSession(
  state: SessionState | null,
  cmd: { presentedSha256: string; nextSha256: string } & SessionLifetime,
  ctx: CommandContext,
): SessionEvent[] {
  if (!state || state.ended) throw new PierError('UNAUTHENTICATED', 'the session has ended; log in again');
  if (Date.parse(ctx.now) >= Date.parse(state.expiresAt) || Date.parse(ctx.now) >= absoluteEnd(state, cmd)) {
    throw new PierError('UNAUTHENTICATED', 'the session has expired; log in again');
  }
  if (!digestsEqual(state.refreshSha256, cmd.presentedSha256)) {
    const spent = state.spentSha256.some((d) => digestsEqual(d, cmd.presentedSha256));
    if (!spent) throw new PierError('UNAUTHENTICATED', 'the refresh token is not valid');
    return [
      createMessage(SessionEnded, { sessionId: state.id, reason: 'refresh-reuse' }, ctx.cause, ctx.now),
    ];
  }
  return [
    createMessage(
      SessionRefreshed,
      {
        sessionId: state.id,
        refreshSha256: cmd.nextSha256,
        expiresAt: slidingEnd(state.startedAt, ctx.now, cmd),
      },
      ctx.cause,
      ctx.now,
    ),
  ];
}

export function endSession(
  state: SessionState | null,
  cmd: { sessionId: string },
  ctx: CommandContext,
): SessionEvent[] {
  if (!state || state.ended) return [];
  return [createMessage(SessionEnded, { sessionId: cmd.sessionId, reason: 'logout' }, ctx.cause, ctx.now)];
}

function absoluteEnd(state: Pick<SessionState, 'startedAt'>, lifetime: SessionLifetime): number {
  return Date.parse(state.startedAt) + lifetime.maxLifetimeSeconds * 1000;
}

/** `now` plus the sliding TTL, capped at the absolute end of a session started at `startedAt`. */
function slidingEnd(startedAt: string, now: string, lifetime: SessionLifetime): string {
  const sliding = Date.parse(now) + lifetime.ttlSeconds * 1000;
  return new Date(Math.min(sliding, absoluteEnd({ startedAt }, lifetime))).toISOString();
}
