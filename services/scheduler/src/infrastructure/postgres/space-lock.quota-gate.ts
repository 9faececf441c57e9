import { type DataSource } from 'typeorm';
import { type QuotaGate } from '../../application/ports';

/**
 * Quota-checked changes of one space run one at a time, across every replica: each holds a
 * transaction-scoped Postgres advisory lock on the space for its check, its append and the wait for the
 * read model its next check reads. Within a process, changes of one space queue in memory first, so a
 * burst holds one database connection per space, not one per request.
 */
export class SpaceLockQuotaGate implements QuotaGate {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly db: DataSource,
    /** Namespaces the lock: platforms sharing one Postgres (tests, benchmarks) never wait on each other. */
    private readonly namespace: string,
  ) {}

  exclusive<T>(space: string, work: () => Promise<T>): Promise<T> {
    const before = this.queues.get(space) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(() => this.locked(space, work));
    const tail = run.catch(() => undefined);
    this.queues.set(space, tail);
    void tail.then(() => {
      if (this.queues.get(space) === tail) this.queues.delete(space);
    });
    return run;
  }

  private async locked<T>(space: string, work: () => Promise<T>): Promise<T> {
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await runner.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${this.namespace}:quota:${space}`]);
      const result = await work();
      await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }
}
