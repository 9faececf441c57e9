import { type DataSource, type QueryRunner } from 'typeorm';
import { type Leadership } from '../../application/scheduler.loop';

/**
 * Leadership as a Postgres session advisory lock, held on one dedicated connection: if the process
 * dies, its connection closes and another replica takes over at its next try.
 */
export class AdvisoryLockLeadership implements Leadership {
  private runner?: QueryRunner;
  private held = false;

  constructor(
    private readonly db: DataSource,
    private readonly name: string,
  ) {}

  async acquire(): Promise<boolean> {
    if (this.held) return true;
    this.runner ??= this.db.createQueryRunner();
    await this.runner.connect();
    const [row] = await this.runner.query('SELECT pg_try_advisory_lock(hashtext($1)) AS held', [this.name]);
    this.held = row.held === true;
    return this.held;
  }

  async release(): Promise<void> {
    if (this.held)
      await this.runner?.query('SELECT pg_advisory_unlock(hashtext($1))', [this.name]).catch(() => undefined);
    this.held = false;
    await this.runner?.release().catch(() => undefined);
    this.runner = undefined;
  }
}
