import { envInt } from '@pier/config';
import { z } from 'zod';
import { agentConfigSchema } from './config';

/**
 * Configuration of a hollow-agent process (`dist/hollow.js`): the agent's own variables (NATS, prefix, join
 * token, labels, zone, capacity) apply to every hollow agent it runs, plus how many to run and how.
 * Capacity is required here: there is no engine to ask.
 */
export const hollowConfigSchema = agentConfigSchema.extend({
  PIER_AGENT_JOIN_TOKEN: z.string().min(1),
  PIER_AGENT_CPU_MILLICORES: z.coerce.number().int().positive().default(64_000),
  PIER_AGENT_MEMORY_MIB: z.coerce.number().int().positive().default(262_144),
  /** How many agents this process runs. */
  PIER_HOLLOW_COUNT: envInt(10, 1, 10_000),
  /** Node names are `<prefix>-<index>`; give each process its own prefix. */
  PIER_HOLLOW_NAME_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,60}$/, 'lowercase letters, digits and "-"')
    .default('hollow'),
  /** How many agents join at the same time. */
  PIER_HOLLOW_START_CONCURRENCY: envInt(50, 1, 1000),
  /** NATS connections shared by the agents (agent i uses connection i mod N). */
  PIER_HOLLOW_CONNECTIONS: envInt(1, 1, 64),
});

export type HollowConfig = z.output<typeof hollowConfigSchema>;
