import { KeyedLock } from '@pier/persistence';
import { type DataSource } from 'typeorm';
import { type QuotaGate } from '../../application/ports';

/**
 * Quota-checked changes of one space run one at a time across every replica: each holds a Postgres
 * advisory lock on the space for its check, its append and the wait for the read model that the next
 * check reads.
 */
export class SpaceLockQuotaGate implements QuotaGate {
  private readonly lock: KeyedLock;

  constructor(db: DataSource, namespace: string) {
    this.lock = new KeyedLock(db, namespace);
  }

  exclusive<T>(space: string, work: () => Promise<T>): Promise<T> {
    return this.lock.run(`quota:${space}`, work);
  }
}
