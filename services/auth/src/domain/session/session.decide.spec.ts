import { type SessionEvent } from '@pier/contracts';
import { rejectionCode } from '@pier/testing';
import { type CommandContext } from '../clock';
import { endSession, refreshSession, type SessionLifetime, startSession } from './session.decide';
import { evolveSession, type SessionState } from './session.state';

const at = (now: string): CommandContext => ({
  cause: { messageId: `m-${now}`, correlationId: 'c', actor: { kind: 'anonymous', id: 'a' } },
  now,
});
const T0 = '2026-01-01T00:00:00.000Z';
const minutes = (n: number) => new Date(Date.parse(T0) + n * 60_000).toISOString();
const ID = '11111111-1111-4111-8111-111111111111';
const sha = (c: string) => c.repeat(64);
/** Refreshes within a minute of each other, for at most ten minutes in all. */
const lifetime: SessionLifetime = { ttlSeconds: 60, maxLifetimeSeconds: 600 };
const given = (...events: SessionEvent[]): SessionState | null => events.reduce(evolveSession, null);
const started = startSession(
  null,
  { sessionId: ID, userId: ID, refreshSha256: sha('a'), ...lifetime },
  at(T0),
);
const refresh = (state: SessionState | null, presented: string, next: string, now: string) =>
  refreshSession(state, { presentedSha256: sha(presented), nextSha256: sha(next), ...lifetime }, at(now));

describe('session decisions', () => {
  it('rotates the refresh secret and slides the session’s end', () => {
    expect(refresh(given(...started), 'a', 'b', minutes(0.5))).toMatchObject([
      { type: 'SessionRefreshed', data: { refreshSha256: sha('b'), expiresAt: minutes(1.5) } },
    ]);
  });

  it('ends the session when a secret issued for it and already rotated away is presented again', () => {
    const rotated = refresh(given(...started), 'a', 'b', T0);
    const reuse = refresh(given(...started, ...rotated), 'a', 'c', T0);
    expect(reuse).toMatchObject([{ type: 'SessionEnded', data: { reason: 'refresh-reuse' } }]);
    expect(rejectionCode(() => refresh(given(...started, ...rotated, ...reuse), 'b', 'd', T0))).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('refuses a secret never issued for the session and leaves the session alone', () => {
    const rotated = refresh(given(...started), 'a', 'b', T0);
    const state = given(...started, ...rotated);
    expect(rejectionCode(() => refresh(state, 'f', 'c', T0))).toBe('UNAUTHENTICATED');
    // Nothing was decided, so the rightful holder refreshes as before.
    expect(refresh(state, 'b', 'c', T0)).toMatchObject([{ type: 'SessionRefreshed' }]);
  });

  it('never slides past the absolute lifetime, however often it is refreshed', () => {
    let events: SessionEvent[] = [...started];
    let secret = 'a';
    for (let minute = 0.5; minute < 10; minute += 0.5) {
      const next = String.fromCharCode(secret.charCodeAt(0) + 1);
      const step = refresh(given(...events), secret, next, minutes(minute));
      expect(step).toMatchObject([{ type: 'SessionRefreshed' }]);
      events = [...events, ...step];
      secret = next;
    }
    expect(given(...events)!.expiresAt).toBe(minutes(10));
    expect(rejectionCode(() => refresh(given(...events), secret, 'z', minutes(10)))).toBe('UNAUTHENTICATED');
  });

  it('applies the absolute lifetime from the first login also to the first end', () => {
    const short = startSession(
      null,
      { sessionId: ID, userId: ID, refreshSha256: sha('a'), ttlSeconds: 3600, maxLifetimeSeconds: 60 },
      at(T0),
    );
    expect(short).toMatchObject([{ type: 'SessionStarted', data: { expiresAt: minutes(1) } }]);
  });

  it('refuses to refresh an expired session, and ends a session once', () => {
    expect(rejectionCode(() => refresh(given(...started), 'a', 'b', minutes(1)))).toBe('UNAUTHENTICATED');
    const ended = endSession(given(...started), { sessionId: ID }, at(T0));
    expect(ended).toHaveLength(1);
    expect(endSession(given(...started, ...ended), { sessionId: ID }, at(T0))).toEqual([]);
  });
});
