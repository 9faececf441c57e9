import { randomBytes } from 'node:crypto';
import { loadConfig } from '@pier/config';
import { z } from 'zod';

/** Where the tests find the infrastructure they run against. */
export const testEnv = loadConfig(
  z.object({
    PIER_TEST_NATS_URL: z.string().default('nats://127.0.0.1:4222'),
    PIER_TEST_DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/pier_test'),
    DOCKER_HOST: z.string().optional(),
  }),
);

/**
 * A namespace unique to one test file (or one test), used as the NATS subject/stream prefix and the
 * Postgres schema, so test files run in parallel without seeing each other.
 */
export function uniqueName(label: string): string {
  const clean = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 20);
  return `t_${clean}_${randomBytes(4).toString('hex')}`;
}
