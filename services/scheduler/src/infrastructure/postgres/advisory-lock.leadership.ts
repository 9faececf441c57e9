import { type DataSource, type QueryRunner } from 'typeorm';
import { type Leadership } from '../../application/scheduler.loop';

/** TypeORM's Postgres runner can hand its connection back as broken, so the pool closes it. */
type PostgresRunner = QueryRunner & { releasePostgresConnection?(error?: Error): Promise<void> };

/**
 * The election: a Postgres session advisory lock, held on one dedicated connection. If the process
 * dies or its session is terminated, the lock goes with the session and another replica wins it at
 * its next try. Winning only says who may try to take the scheduler lease: what keeps two replicas
 * from both writing is the lease (ADR 0007), not this lock.
 */
export class AdvisoryLockLeadership implements Leadership {
  private runner?: PostgresRunner;
  private held = false;
  /**
   * Calls take turns. A release (a stand-down does not wait for the pass in flight) that overtook an
   * acquire still connecting would release its runner before TypeORM listed it as connected; listed
   * afterwards, already released, it stays there for good, and the data source's `destroy` then loops
   * on releasing it forever (TypeORM 1.1's `closePool`), a hung process at shutdown.
   */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: DataSource,
    private readonly name: string,
  ) {}

  /**
   * Whether this replica holds the lock. While held, every call asks the lock's own session: a
   * session that no longer answers (terminated, connection lost) means the lock is gone with it, so
   * the connection is dropped and the lock tried for again on a new one.
   */
  acquire(): Promise<boolean> {
    return this.inTurn(() => this.tryAcquire());
  }

  /** Gives the lock up; the session is closed rather than pooled, so nothing of it can linger. */
  release(): Promise<void> {
    return this.inTurn(async () => {
      if (this.held)
        await this.runner
          ?.query('SELECT pg_advisory_unlock(hashtext($1))', [this.name])
          .catch(() => undefined);
      await this.drop(new Error('scheduler leadership released'));
    });
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const mine = this.turn.then(work, work);
    this.turn = mine.catch(() => undefined);
    return mine;
  }

  private async tryAcquire(): Promise<boolean> {
    if (this.held && this.runner) {
      try {
        await this.runner.query('SELECT 1');
        return true;
      } catch (error) {
        await this.drop(error);
      }
    }
    try {
      this.runner ??= this.db.createQueryRunner() as PostgresRunner;
      await this.runner.connect();
      const [row] = await this.runner.query('SELECT pg_try_advisory_lock(hashtext($1)) AS held', [this.name]);
      this.held = row.held === true;
    } catch (error) {
      await this.drop(error);
      throw error;
    }
    return this.held;
  }

  private async drop(error: unknown): Promise<void> {
    this.held = false;
    const runner = this.runner;
    this.runner = undefined;
    if (!runner) return;
    const reason = error instanceof Error ? error : new Error(String(error));
    await (runner.releasePostgresConnection?.(reason) ?? runner.release()).catch(() => undefined);
  }
}
