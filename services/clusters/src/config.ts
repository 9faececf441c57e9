import { commonEnv, databaseEnv, envInt, envPort, eventStoreEnv } from '@pier/config';
import { z } from 'zod';

export const clustersConfigSchema = z
  .object({
    ...commonEnv,
    ...databaseEnv,
    ...eventStoreEnv,
    /** Port of the ops endpoints (/healthz, /readyz, /metrics). */
    PIER_CLUSTERS_PORT: envPort(4101),
    /** A node silent for longer than this is lost. */
    PIER_NODE_LOST_AFTER_MS: envInt(3000, 200, 3_600_000),
    /** How often agents send a heartbeat (told to them when they join). */
    PIER_NODE_HEARTBEAT_MS: envInt(1000, 50, 600_000),
    /** How often the liveness monitor looks for silent nodes. */
    PIER_NODE_LIVENESS_CHECK_MS: envInt(200, 10, 60_000),
  })
  .refine((c) => c.PIER_NODE_LOST_AFTER_MS >= 2 * c.PIER_NODE_HEARTBEAT_MS, {
    path: ['PIER_NODE_LOST_AFTER_MS'],
    message: 'must be at least twice PIER_NODE_HEARTBEAT_MS, or one late heartbeat marks a healthy node lost',
  });

export type ClustersConfig = z.output<typeof clustersConfigSchema>;
