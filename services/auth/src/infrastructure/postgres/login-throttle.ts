import { type DataSource, type EntityManager } from 'typeorm';
import { type LoginAttempt, type LoginThrottle } from '../../application/ports';
import {
  type AddressCount,
  forgive,
  type LoginThrottlePolicy,
  type PairCount,
  reserveAttempt,
  throttledNetwork,
} from '../../domain/session/login-throttle.policy';

interface Row {
  key: string;
  failures: number;
  window_start: Date;
  last_at: Date;
  blocked_until: Date;
}

const network = (a: LoginAttempt) => (a.address === null ? null : throttledNetwork(a.address));
const pairKey = (a: LoginAttempt) => `pair:${a.email}\n${network(a) ?? ''}`;
const addressKey = (a: LoginAttempt) => (a.address === null ? null : `address:${network(a)}`);

/**
 * Login throttling in Postgres, shared by every replica of the auth service. Each attempt locks the rows
 * of its pair and address (`SELECT … FOR UPDATE`, in key order so two attempts never deadlock), lets the
 * pure policy decide and writes the new counts in the same transaction: concurrent attempts are
 * serialised, so twenty parallel guesses are counted one after the other and only those the policy
 * allows are evaluated.
 */
export class PostgresLoginThrottle implements LoginThrottle {
  constructor(
    private readonly db: DataSource,
    private readonly policy: LoginThrottlePolicy,
  ) {}

  async reserve(attempt: LoginAttempt, now: string): Promise<number> {
    const pair = pairKey(attempt);
    const address = addressKey(attempt);
    const wait = await this.db.transaction(async (m) => {
      const rows = await this.lock(m, address ? [address, pair] : [pair], now);
      const decision = reserveAttempt(
        {
          pair: rows.has(pair) ? toPair(rows.get(pair)!) : null,
          address: address === null ? undefined : rows.has(address) ? toAddress(rows.get(address)!) : null,
        },
        this.policy,
        now,
      );
      if (!decision.allowed) return decision.retryAfterSeconds;
      await this.writePair(m, pair, decision.pair);
      if (address && decision.address) await this.writeAddress(m, address, decision.address, now);
      return 0;
    });
    await this.forgetStale(now);
    return wait;
  }

  async succeeded(attempt: LoginAttempt): Promise<void> {
    const pair = pairKey(attempt);
    const address = addressKey(attempt);
    await this.db.transaction(async (m) => {
      const rows = await this.lock(m, address ? [address, pair] : [pair], null);
      const next = forgive(address && rows.has(address) ? toAddress(rows.get(address)!) : null);
      await m.query('DELETE FROM login_attempts WHERE key = $1', [pair]);
      if (address && next.address) {
        await m.query('UPDATE login_attempts SET failures = $2 WHERE key = $1', [
          address,
          next.address.failures,
        ]);
      }
    });
  }

  /**
   * Locks the rows of `keys` (creating missing ones when `now` is given, so there is a row to lock even
   * for a first attempt) and returns them by key.
   */
  private async lock(m: EntityManager, keys: string[], now: string | null): Promise<Map<string, Row>> {
    const sorted = [...keys].sort();
    if (now) {
      await m.query(
        `INSERT INTO login_attempts (key, failures, window_start, last_at, blocked_until)
         SELECT k, 0, $2, $2, $2 FROM unnest($1::text[]) AS k ON CONFLICT (key) DO NOTHING`,
        [sorted, now],
      );
    }
    const rows: Row[] = await m.query(
      'SELECT * FROM login_attempts WHERE key = ANY($1) ORDER BY key FOR UPDATE',
      [sorted],
    );
    return new Map(rows.filter((r) => r.failures > 0).map((r) => [r.key, r]));
  }

  private async writePair(m: EntityManager, key: string, pair: PairCount): Promise<void> {
    await m.query(
      'UPDATE login_attempts SET failures = $2, last_at = $3, blocked_until = $4 WHERE key = $1',
      [key, pair.failures, pair.lastAt, pair.blockedUntil],
    );
  }

  private async writeAddress(m: EntityManager, key: string, a: AddressCount, now: string): Promise<void> {
    await m.query('UPDATE login_attempts SET failures = $2, window_start = $3, last_at = $4 WHERE key = $1', [
      key,
      a.failures,
      a.windowStart,
      now,
    ]);
  }

  /** Drops a few rows nobody has failed on for longer than any count is remembered. */
  private async forgetStale(now: string): Promise<void> {
    const keepSeconds = Math.max(this.policy.pairMemorySeconds, this.policy.addressWindowSeconds);
    await this.db.query(
      `DELETE FROM login_attempts WHERE key IN (
         SELECT key FROM login_attempts WHERE last_at < $1::timestamptz - make_interval(secs => $2) LIMIT 100)`,
      [now, keepSeconds],
    );
  }
}

const toPair = (r: Row): PairCount => ({
  failures: r.failures,
  lastAt: new Date(r.last_at).toISOString(),
  blockedUntil: new Date(r.blocked_until).toISOString(),
});

const toAddress = (r: Row): AddressCount => ({
  failures: r.failures,
  windowStart: new Date(r.window_start).toISOString(),
});
