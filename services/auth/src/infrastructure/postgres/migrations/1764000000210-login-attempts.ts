import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Login throttling counts per account-and-address pair and per address, one row per key, updated under a
 * row lock (replaces the per-failure rows of `login_failures`, whose counts were read and then written
 * without a lock, so parallel guesses were never counted in time). Operational state, not a read model.
 */
export class LoginAttempts1764000000210 implements MigrationInterface {
  name = 'LoginAttempts1764000000210';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE login_attempts (
      key text PRIMARY KEY, failures integer NOT NULL, window_start timestamptz NOT NULL,
      last_at timestamptz NOT NULL, blocked_until timestamptz NOT NULL)`);
    await q.query('CREATE INDEX login_attempts_last_at ON login_attempts (last_at)');
    await q.query('DROP TABLE login_failures');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      'CREATE TABLE login_failures (id bigserial PRIMARY KEY, key text NOT NULL, at timestamptz NOT NULL)',
    );
    await q.query('CREATE INDEX login_failures_key_at ON login_failures (key, at)');
    await q.query('DROP TABLE login_attempts');
  }
}
