/**
 * Login throttling after OWASP's authentication cheat sheet. Failures are counted per account *and*
 * address: a few cost nothing (typos), then every further one makes that pair wait longer (1 s, 2 s,
 * 4 s… up to a ceiling). No account is ever locked as such — an attacker's failures slow only the
 * attacker's own pair, so the owner logging in from elsewhere is not held up. Each address has its own,
 * much higher ceiling over every account it tries, against one host spraying many accounts, yet high
 * enough that one person's typos never lock out everyone behind a shared address.
 *
 * An attempt is counted as a failure *before* the password is checked (`reserveAttempt`) and forgiven
 * if it succeeds (`forgive`): parallel guesses all count, none can slip between check and count.
 */
export interface LoginThrottlePolicy {
  /** Failures of one pair that cost no delay. */
  readonly freeFailures: number;
  /** Delay after the first failure beyond the free ones; it doubles with each further failure. */
  readonly baseDelaySeconds: number;
  readonly maxDelaySeconds: number;
  /** A pair's failures are forgotten after this long without a new one. */
  readonly pairMemorySeconds: number;
  /** Failures from one address, over every account, allowed within one window. */
  readonly addressMaxFailures: number;
  readonly addressWindowSeconds: number;
}

/** Failed logins of one account from one address. */
export interface PairCount {
  readonly failures: number;
  /** Time of the last failure. */
  readonly lastAt: string;
  /** No attempt of the pair is evaluated before this time. */
  readonly blockedUntil: string;
}

/** Failed logins from one address within the window that began at `windowStart`. */
export interface AddressCount {
  readonly failures: number;
  readonly windowStart: string;
}

export type Reservation =
  | { readonly allowed: false; readonly retryAfterSeconds: number }
  | { readonly allowed: true; readonly pair: PairCount; readonly address: AddressCount | null };

/**
 * The network an address is counted under: an IPv4 address as it is, an IPv6 address by its /64 — one
 * subscriber usually holds a whole /64, and counting each of its addresses apart would let it try 2^64
 * times as often.
 */
export function throttledNetwork(address: string): string {
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (v4) return v4[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

const ms = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();
const secondsUntil = (until: number, now: number) => Math.max(1, Math.ceil((until - now) / 1000));

/** The wait imposed after a pair's `failures`-th failure. */
export function delayAfter(failures: number, policy: LoginThrottlePolicy): number {
  if (failures < policy.freeFailures) return 0;
  const exponent = Math.min(failures - policy.freeFailures, 30);
  return Math.min(policy.maxDelaySeconds, policy.baseDelaySeconds * 2 ** exponent);
}

/**
 * Whether an attempt may be evaluated now and, if so, the counts with it already counted as a failure.
 * `address` is undefined when the attempt has no known address (then only the pair counts).
 */
export function reserveAttempt(
  current: { pair: PairCount | null; address: AddressCount | null | undefined },
  policy: LoginThrottlePolicy,
  nowIso: string,
): Reservation {
  const now = ms(nowIso);
  const remembered =
    current.pair && ms(current.pair.lastAt) + policy.pairMemorySeconds * 1000 > now ? current.pair : null;
  if (remembered && ms(remembered.blockedUntil) > now)
    return { allowed: false, retryAfterSeconds: secondsUntil(ms(remembered.blockedUntil), now) };
  let address: AddressCount | null = null;
  if (current.address !== undefined) {
    const windowEnd = (a: AddressCount) => ms(a.windowStart) + policy.addressWindowSeconds * 1000;
    const open = current.address && windowEnd(current.address) > now ? current.address : null;
    if (open && open.failures >= policy.addressMaxFailures)
      return { allowed: false, retryAfterSeconds: secondsUntil(windowEnd(open), now) };
    address = open
      ? { failures: open.failures + 1, windowStart: open.windowStart }
      : { failures: 1, windowStart: nowIso };
  }
  const failures = (remembered?.failures ?? 0) + 1;
  return {
    allowed: true,
    pair: { failures, lastAt: nowIso, blockedUntil: iso(now + delayAfter(failures, policy) * 1000) },
    address,
  };
}

/**
 * A reserved attempt succeeded: the pair starts afresh (`null`) and the address gets back the failure
 * it was charged. Nothing else is reset — another account's failures from the same address stand.
 */
export function forgive(address: AddressCount | null): { pair: null; address: AddressCount | null } {
  return {
    pair: null,
    address: address && { ...address, failures: Math.max(0, address.failures - 1) },
  };
}
