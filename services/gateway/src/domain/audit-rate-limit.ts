/**
 * How many audit records of refused requests (anonymous, unauthenticated, forbidden, or before they were
 * authorized at all) may be written, so that a flood of them cannot fill the event store: a token bucket
 * per client address, and one over every address together. What is refused is counted per address and
 * summed up in one record once the address may write again, or once it has gone quiet (`sweep`).
 */
export interface AuditRateLimits {
  /** Records one address may write at once… */
  readonly burst: number;
  /** …and then per minute. */
  readonly perMinute: number;
  /** Records every address together may write per minute (and at once). */
  readonly globalPerMinute: number;
  /** Addresses tracked one by one; beyond that they share one bucket (memory stays bounded). */
  readonly maxAddresses: number;
}

/** Records of one address that were not written, between `from` and `to` (epoch ms). */
export interface DroppedRecords {
  readonly address: string;
  readonly count: number;
  readonly from: number;
  readonly to: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

interface AddressState extends Bucket {
  dropped: number;
  firstDrop: number;
  lastDrop: number;
}

/** Addresses beyond `maxAddresses` share this key. */
export const OVERFLOW_ADDRESS = '*';

export class AuditRateLimiter {
  private readonly addresses = new Map<string, AddressState>();
  private readonly global: Bucket;

  constructor(private readonly limits: AuditRateLimits) {
    this.global = { tokens: limits.globalPerMinute, at: -Infinity };
  }

  /**
   * Whether a record from `address` may be written at `now` (epoch ms). When it may and earlier ones
   * were dropped, `dropped` is their summary, to be written with it.
   */
  admit(address: string, now: number): { admitted: boolean; dropped: DroppedRecords | null } {
    const key =
      this.addresses.has(address) || this.addresses.size < this.limits.maxAddresses
        ? address
        : OVERFLOW_ADDRESS;
    const state = this.addresses.get(key) ?? {
      tokens: this.limits.burst,
      at: now,
      dropped: 0,
      firstDrop: 0,
      lastDrop: 0,
    };
    this.addresses.set(key, state);
    refill(state, now, this.limits.burst, this.limits.perMinute);
    refill(this.global, now, this.limits.globalPerMinute, this.limits.globalPerMinute);
    if (state.tokens < 1 || this.global.tokens < 1) {
      if (state.dropped === 0) state.firstDrop = now;
      state.dropped++;
      state.lastDrop = now;
      return { admitted: false, dropped: null };
    }
    state.tokens--;
    this.global.tokens--;
    return { admitted: true, dropped: takeDropped(key, state) };
  }

  /**
   * Summaries of addresses whose bucket has filled up again (they went quiet) with records dropped;
   * forgets every address whose bucket is full, so only active ones take memory.
   */
  sweep(now: number): DroppedRecords[] {
    const summaries: DroppedRecords[] = [];
    for (const [key, state] of this.addresses) {
      refill(state, now, this.limits.burst, this.limits.perMinute);
      if (state.tokens < this.limits.burst) continue;
      const dropped = takeDropped(key, state);
      if (dropped) summaries.push(dropped);
      this.addresses.delete(key);
    }
    return summaries;
  }

  /** Addresses tracked now (for tests and metrics). */
  get size(): number {
    return this.addresses.size;
  }
}

function refill(bucket: Bucket, now: number, capacity: number, perMinute: number): void {
  const elapsed = Math.max(0, now - bucket.at);
  bucket.tokens = Math.min(capacity, bucket.tokens + (elapsed * perMinute) / 60_000);
  bucket.at = now;
}

function takeDropped(address: string, state: AddressState): DroppedRecords | null {
  if (state.dropped === 0) return null;
  const summary = { address, count: state.dropped, from: state.firstDrop, to: state.lastDrop };
  state.dropped = 0;
  return summary;
}
