import { type SessionEvent } from '@pier/contracts';
import { rejectionCode } from '@pier/testing';
import { type CommandContext } from '../clock';
import { endSession, refreshSession, startSession } from './session.decide';
import { evolveSession, type SessionState } from './session.state';

const at = (now: string): CommandContext => ({
  cause: { messageId: 'm', correlationId: 'c', actor: { kind: 'anonymous', id: 'a' } },
  now,
});
const T0 = '2026-01-01T00:00:00.000Z';
const ID = '11111111-1111-4111-8111-111111111111';
const given = (...events: SessionEvent[]): SessionState | null => events.reduce(evolveSession, null);
const started = startSession(
  null,
  { sessionId: ID, userId: ID, refreshSha256: 'a'.repeat(64), ttlSeconds: 60 },
  at(T0),
);

describe('session decisions', () => {
  it('rotates the refresh secret', () => {
    const next = refreshSession(
      given(...started),
      { presentedSha256: 'a'.repeat(64), nextSha256: 'b'.repeat(64), ttlSeconds: 60 },
      at(T0),
    );
    expect(next).toMatchObject([{ type: 'SessionRefreshed', data: { refreshSha256: 'b'.repeat(64) } }]);
  });

  it('ends the session when a spent refresh secret is presented again', () => {
    const rotated = refreshSession(
      given(...started),
      { presentedSha256: 'a'.repeat(64), nextSha256: 'b'.repeat(64), ttlSeconds: 60 },
      at(T0),
    );
    const reuse = refreshSession(
      given(...started, ...rotated),
      { presentedSha256: 'a'.repeat(64), nextSha256: 'c'.repeat(64), ttlSeconds: 60 },
      at(T0),
    );
    expect(reuse).toMatchObject([{ type: 'SessionEnded', data: { reason: 'refresh-reuse' } }]);
    expect(
      rejectionCode(() =>
        refreshSession(
          given(...started, ...rotated, ...reuse),
          { presentedSha256: 'b'.repeat(64), nextSha256: 'd'.repeat(64), ttlSeconds: 60 },
          at(T0),
        ),
      ),
    ).toBe('UNAUTHENTICATED');
  });

  it('refuses to refresh an expired session, and ends a session once', () => {
    expect(
      rejectionCode(() =>
        refreshSession(
          given(...started),
          { presentedSha256: 'a'.repeat(64), nextSha256: 'b'.repeat(64), ttlSeconds: 60 },
          at('2026-01-01T00:01:00.000Z'),
        ),
      ),
    ).toBe('UNAUTHENTICATED');
    const ended = endSession(given(...started), { sessionId: ID }, at(T0));
    expect(ended).toHaveLength(1);
    expect(endSession(given(...started, ...ended), { sessionId: ID }, at(T0))).toEqual([]);
  });
});
