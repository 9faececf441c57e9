import { type Quota } from '@pier/contracts';

export const SCHEDULER_LOGGER = Symbol('SchedulerLogger');
export const TENANCY = Symbol('Tenancy');
export const READ_MODEL_SYNC = Symbol('ReadModelSync');
export const SCHEDULER_SETTINGS = Symbol('SchedulerSettings');

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
