import { type DataSource } from 'typeorm';
import { type LoginThrottle } from '../../application/ports';

/**
 * Failed logins in Postgres, shared by every replica of the auth service: after `maxFailures` within
 * `windowSeconds` for an email or an address, attempts are refused until the oldest failure ages out.
 */
export class PostgresLoginThrottle implements LoginThrottle {
  constructor(
    private readonly db: DataSource,
    private readonly maxFailures: number,
    private readonly windowSeconds: number,
  ) {}

  async retryAfter(keys: readonly string[], now: string): Promise<number> {
    const rows: { key: string; failures: string; oldest: Date }[] = await this.db.query(
      `SELECT key, count(*) AS failures, min(at) AS oldest FROM login_failures
       WHERE key = ANY($1) AND at > $2::timestamptz - make_interval(secs => $3) GROUP BY key`,
      [keys, now, this.windowSeconds],
    );
    let wait = 0;
    for (const r of rows) {
      if (Number(r.failures) < this.maxFailures) continue;
      const until = new Date(r.oldest).getTime() + this.windowSeconds * 1000;
      wait = Math.max(wait, Math.ceil((until - Date.parse(now)) / 1000));
    }
    return wait;
  }

  async recordFailure(keys: readonly string[], now: string): Promise<void> {
    await this.db.transaction(async (m) => {
      await m.query(
        'DELETE FROM login_failures WHERE key = ANY($1) AND at <= $2::timestamptz - make_interval(secs => $3)',
        [keys, now, this.windowSeconds],
      );
      for (const key of keys)
        await m.query('INSERT INTO login_failures (key, at) VALUES ($1, $2)', [key, now]);
    });
  }

  async reset(keys: readonly string[]): Promise<void> {
    await this.db.query('DELETE FROM login_failures WHERE key = ANY($1)', [keys]);
  }
}
