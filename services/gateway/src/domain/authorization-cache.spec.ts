import { AuthorizationCache } from './authorization-cache';

describe('AuthorizationCache', () => {
  let now = 1_000_000;
  const cache = (ttlMs = 30_000, maxEntries = 3) =>
    new AuthorizationCache<string>({ ttlMs, maxEntries }, () => now);

  beforeEach(() => {
    now = 1_000_000;
  });

  it('keeps an answer until the TTL', () => {
    const c = cache(30_000);
    c.put('k', 'v', now + 3_600_000, c.ticket());
    now += 29_999;
    expect(c.get('k')).toBe('v');
    now += 1;
    expect(c.get('k')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('never past the credential’s own expiry', () => {
    const c = cache(30_000);
    c.put('k', 'v', now + 5_000, c.ticket());
    now += 5_000;
    expect(c.get('k')).toBeUndefined();
    c.put('expired', 'v', now - 1, c.ticket());
    expect(c.get('expired')).toBeUndefined();
  });

  it('forgets everything on invalidate', () => {
    const c = cache();
    c.put('a', '1', now + 60_000, c.ticket());
    c.put('b', '2', now + 60_000, c.ticket());
    c.invalidate();
    expect([c.get('a'), c.get('b')]).toEqual([undefined, undefined]);
  });

  it('does not keep an answer asked for before an invalidation and received after it', () => {
    const c = cache();
    const ticket = c.ticket();
    c.invalidate(); // the revocation's word arrives while the question is out
    c.put('k', 'stale', now + 60_000, ticket);
    expect(c.get('k')).toBeUndefined();
    c.put('k', 'fresh', now + 60_000, c.ticket());
    expect(c.get('k')).toBe('fresh');
  });

  it('holds at most maxEntries, dropping the oldest', () => {
    const c = cache(30_000, 2);
    for (const k of ['a', 'b', 'c']) c.put(k, k, now + 60_000, c.ticket());
    expect([c.get('a'), c.get('b'), c.get('c')]).toEqual([undefined, 'b', 'c']);
  });

  it('keeps nothing with a TTL of 0', () => {
    const c = cache(0);
    c.put('k', 'v', now + 60_000, c.ticket());
    expect(c.get('k')).toBeUndefined();
  });
});
