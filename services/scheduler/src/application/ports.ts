import { type Quota } from '@pier/contracts';

export const SCHEDULER_LOGGER = Symbol('SchedulerLogger');
export const TENANCY = Symbol('Tenancy');
export const READ_MODEL_SYNC = Symbol('ReadModelSync');
export const SCHEDULER_SETTINGS = Symbol('SchedulerSettings');
export const QUOTA_GATE = Symbol('QuotaGate');

export interface SchedulerSettings {
  /** Apps get `<app>.<space>.<baseDomain>`. */
  readonly baseDomain: string;
}

/** What the scheduler asks of the tenancy context. */
export interface Tenancy {
  quota(space: string): Promise<Quota>;
  /** Whether a secret exists in the space (its value is never fetched here). */
  secretExists(space: string, name: string): Promise<boolean>;
}

export interface ReadModelSync {
  waitFor(position: number): Promise<void>;
}

/**
 * Serializes the changes of a space that a quota limits, so that two parallel deploys cannot both pass
 * a check that only one of them fits (every replica of the scheduler included).
 */
export interface QuotaGate {
  /** Runs `work` alone among the gated changes of `space`; resolves or rejects with its outcome. */
  exclusive<T>(space: string, work: () => Promise<T>): Promise<T>;
}
