import { commonEnv, databaseEnv, envBoolean, envInt, envPort, eventStoreEnv } from '@pier/config';
import { z } from 'zod';

export const schedulerConfigSchema = z.object({
  ...commonEnv,
  ...databaseEnv,
  ...eventStoreEnv,
  /** Port of the ops endpoints (/healthz, /readyz, /metrics). */
  PIER_SCHEDULER_PORT: envPort(4104),
  /** Apps get `<app>.<space>.<PIER_BASE_DOMAIN>`. */
  PIER_BASE_DOMAIN: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, 'a lowercase domain')
    .default('pier.localhost'),
  /** How often the reconciler looks at the world when nothing happens. */
  PIER_SCHEDULER_INTERVAL_MS: envInt(250, 10, 60_000),
  /**
   * Move a settled app's instances (one at a time, the replacement ready first) until no node that
   * could take one runs two fewer than another, e.g. back onto a node that returned after it was lost.
   */
  PIER_SCHEDULER_REBALANCE: envBoolean(true),
});

export type SchedulerConfig = z.output<typeof schedulerConfigSchema>;
