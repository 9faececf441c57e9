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

export function startSession(
  state: SessionState | null,
  cmd: { sessionId: string; userId: string; refreshSha256: string; ttlSeconds: number },
  ctx: CommandContext,
): SessionEvent[] {
  if (state) return [];
  const expiresAt = new Date(Date.parse(ctx.now) + cmd.ttlSeconds * 1000).toISOString();
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
 * Rotates the refresh secret. Presenting a secret that was already rotated away means it leaked (or a
 * client raced itself): the whole session ends, as OAuth's refresh-token rotation recommends.
 */
export function refreshSession(
  state: SessionState | null,
  cmd: { presentedSha256: string; nextSha256: string; ttlSeconds: number },
  ctx: CommandContext,
): SessionEvent[] {
  if (!state || state.ended) throw new PierError('UNAUTHENTICATED', 'the session has ended; log in again');
  if (Date.parse(ctx.now) >= Date.parse(state.expiresAt)) {
    throw new PierError('UNAUTHENTICATED', 'the session has expired; log in again');
  }
  if (!digestsEqual(state.refreshSha256, cmd.presentedSha256)) {
    return [
      createMessage(SessionEnded, { sessionId: state.id, reason: 'refresh-reuse' }, ctx.cause, ctx.now),
    ];
  }
  const expiresAt = new Date(Date.parse(ctx.now) + cmd.ttlSeconds * 1000).toISOString();
  return [
    createMessage(
      SessionRefreshed,
      { sessionId: state.id, refreshSha256: cmd.nextSha256, expiresAt },
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
