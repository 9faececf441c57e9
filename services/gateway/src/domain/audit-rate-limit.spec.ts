import { AuditRateLimiter, type AuditRateLimits, OVERFLOW_ADDRESS } from './audit-rate-limit';

const limits: AuditRateLimits = { burst: 3, perMinute: 6, globalPerMinute: 100, maxAddresses: 2 };
const admitted = (limiter: AuditRateLimiter, address: string, at: number, n = 1) =>
  Array.from({ length: n }, () => limiter.admit(address, at).admitted).filter(Boolean).length;

describe('audit rate limiter', () => {
  it('lets one address write its burst, then one record per refill period', () => {
    const limiter = new AuditRateLimiter(limits);
    expect(admitted(limiter, 'a', 0, 10)).toBe(3);
    expect(admitted(limiter, 'a', 9_999)).toBe(0);
    expect(admitted(limiter, 'a', 10_000)).toBe(1); // 6 a minute: one every 10 s
    expect(admitted(limiter, 'b', 10_000, 3)).toBe(3); // another address has its own bucket
  });

  it('sums up what was dropped in the next record the address may write', () => {
    const limiter = new AuditRateLimiter(limits);
    admitted(limiter, 'a', 0, 3);
    for (let i = 1; i <= 7; i++) limiter.admit('a', i * 100);
    expect(limiter.admit('a', 10_000)).toEqual({
      admitted: true,
      dropped: { address: 'a', count: 7, from: 100, to: 700 },
    });
    expect(limiter.admit('a', 20_000)).toEqual({ admitted: true, dropped: null });
  });

  it('sums up the drops of an address that went quiet, and forgets quiet addresses', () => {
    const limiter = new AuditRateLimiter(limits);
    admitted(limiter, 'a', 0, 5);
    admitted(limiter, 'b', 0, 1);
    expect(limiter.sweep(10_000)).toEqual([]); // neither bucket is full again yet
    expect(limiter.sweep(30_000)).toEqual([{ address: 'a', count: 2, from: 0, to: 0 }]);
    expect(limiter.size).toBe(0);
  });

  it('keeps memory bounded: addresses beyond the limit share one bucket', () => {
    const limiter = new AuditRateLimiter(limits);
    admitted(limiter, 'a', 0);
    admitted(limiter, 'b', 0);
    expect(admitted(limiter, 'c', 0, 2) + admitted(limiter, 'd', 0, 2)).toBe(3);
    expect(limiter.size).toBe(3);
    expect(limiter.admit('e', 0)).toEqual({ admitted: false, dropped: null });
    expect(limiter.sweep(60_000)).toEqual([{ address: OVERFLOW_ADDRESS, count: 2, from: 0, to: 0 }]);
  });

  it('caps every address together', () => {
    const limiter = new AuditRateLimiter({ ...limits, globalPerMinute: 4, maxAddresses: 100 });
    const total = ['a', 'b', 'c'].reduce((n, a) => n + admitted(limiter, a, 0, 3), 0);
    expect(total).toBe(4);
  });
});
