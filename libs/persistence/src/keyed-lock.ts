import { type DataSource } from 'typeorm';

/**
 * Runs work one at a time per key, across every process that shares the database: each run holds a
 * transaction-scoped Postgres advisory lock on its key. Within a process, runs of one key queue in
 * memory first, so a burst holds one database connection per key, not one per caller.
 */
export class KeyedLock {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly db: DataSource,
    /** Namespaces the keys: platforms sharing one Postgres (tests, benchmarks) never wait on each other. */
    private readonly namespace: string,
  ) {}

  /** Runs `work` alone among the runs of `key`; resolves or rejects with its outcome. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.queues.get(key) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(() => this.locked(key, work));
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  private async locked<T>(key: string, work: () => Promise<T>): Promise<T> {
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await runner.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${this.namespace}:${key}`]);
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
