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

/**
 * Whether `name` is a namespace `uniqueName` made (or one derived from it by a suffix, like the schema
 * `<prefix>_auth`). Test clean-ups delete streams and drop schemas only under such names: the test NATS
 * and Postgres may be those of a platform in use (up.sh's prefix is `pier`), which a test must never touch.
 */
export function isTestNamespace(name: string): boolean {
  return /^t_[a-z0-9_]{1,20}_[0-9a-f]{8}(_[a-z0-9_]+)?$/.test(name);
}

/** Throws unless `name` is a test namespace (see `isTestNamespace`). */
export function assertTestNamespace(name: string, what: string): void {
  if (!isTestNamespace(name))
    throw new Error(`refusing to clean up ${what} "${name}": not a test namespace made by uniqueName`);
}
