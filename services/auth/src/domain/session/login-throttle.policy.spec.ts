import {
  type AddressCount,
  delayAfter,
  forgive,
  type LoginThrottlePolicy,
  type PairCount,
  reserveAttempt,
  throttledNetwork,
} from './login-throttle.policy';

const policy: LoginThrottlePolicy = {
  freeFailures: 5,
  baseDelaySeconds: 1,
  maxDelaySeconds: 900,
  pairMemorySeconds: 86_400,
  addressMaxFailures: 100,
  addressWindowSeconds: 900,
};
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

/** Runs `n` failed attempts of one pair at time `t`; answers the waits imposed on the refused ones. */
function fail(
  state: { pair: PairCount | null; address: AddressCount | null },
  n: number,
  t: number,
): { state: typeof state; allowed: number; waits: number[] } {
  let allowed = 0;
  const waits: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = reserveAttempt(state, policy, at(t));
    if (r.allowed) {
      allowed++;
      state = { pair: r.pair, address: r.address };
    } else waits.push(r.retryAfterSeconds);
  }
  return { state, allowed, waits };
}

describe('login throttle policy', () => {
  it('lets the first failures of a pair go free, then doubles the delay up to its ceiling', () => {
    expect([1, 4, 5, 6, 7, 14, 15, 40].map((n) => delayAfter(n, policy))).toEqual([
      0, 0, 1, 2, 4, 512, 900, 900,
    ]);
  });

  it('counts each attempt before it is evaluated: of twenty at once, only the free ones go ahead', () => {
    const { allowed, waits } = fail({ pair: null, address: null }, 20, 0);
    expect(allowed).toBe(5);
    expect(waits).toEqual(Array(15).fill(1));
  });

  it('does not count refused attempts, and lets the pair try again once its delay is over', () => {
    const five = fail({ pair: null, address: null }, 5, 0).state;
    const refused = fail(five, 3, 0.5);
    expect(refused.state).toEqual(five);
    const later = reserveAttempt(five, policy, at(1));
    expect(later).toMatchObject({ allowed: true, pair: { failures: 6, blockedUntil: at(3) } });
  });

  it('forgets a pair after a quiet day', () => {
    const ten = fail({ pair: null, address: null }, 10, 0);
    const r = reserveAttempt(ten.state, policy, at(86_400));
    expect(r).toMatchObject({ allowed: true, pair: { failures: 1 } });
  });

  it('caps an address over every account, until its window ends', () => {
    let address: AddressCount | null = null;
    for (let account = 0; account < 25; account++) {
      // Four failures per account: none of the pairs is ever delayed.
      const r = fail({ pair: null, address }, 4, 10);
      address = r.state.address;
      expect(r.allowed).toBe(4);
    }
    expect(address).toEqual({ failures: 100, windowStart: at(10) });
    expect(reserveAttempt({ pair: null, address }, policy, at(20))).toEqual({
      allowed: false,
      retryAfterSeconds: 890,
    });
    expect(reserveAttempt({ pair: null, address }, policy, at(910))).toMatchObject({
      allowed: true,
      address: { failures: 1, windowStart: at(910) },
    });
  });

  it('counts only the pair when the address is unknown', () => {
    expect(reserveAttempt({ pair: null, address: undefined }, policy, at(0))).toMatchObject({
      allowed: true,
      address: null,
    });
  });

  it('on success forgets the pair and gives the address only the failure it was charged', () => {
    expect(forgive({ failures: 7, windowStart: at(0) })).toEqual({
      pair: null,
      address: { failures: 6, windowStart: at(0) },
    });
    expect(forgive({ failures: 0, windowStart: at(0) }).address?.failures).toBe(0);
  });

  it('counts an IPv6 client by its /64 and an IPv4 one by its address', () => {
    expect(throttledNetwork('203.0.113.7')).toBe('203.0.113.7');
    expect(throttledNetwork('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(throttledNetwork('2001:db8:0:42:1:2:3:4')).toBe('2001:db8:0:42::/64');
    expect(throttledNetwork('2001:0db8:0000:0042::99')).toBe('2001:db8:0:42::/64');
    expect(throttledNetwork('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(throttledNetwork('::1')).toBe('0:0:0:0::/64');
  });
});
