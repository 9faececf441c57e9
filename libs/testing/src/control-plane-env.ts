import { randomBytes } from 'node:crypto';
import { freePort } from './processes';
import { testEnv } from './test-env';

/** What a control plane of real processes (clusters, auth, scheduler, gateway) needs to start. */
export interface ControlPlaneEnv {
  /** Environment shared by the four services (each adds its own `PIER_DATABASE_SCHEMA`). */
  readonly env: Record<string, string>;
  /** The first platform admin, created by auth at start. */
  readonly admin: { readonly email: string; readonly password: string };
  readonly apiPort: number;
  /** The ops ports whose `/readyz` tell that every service is ready. */
  readonly readinessPorts: string[];
}

/**
 * Free ports, fresh secrets and an admin for a control plane on its own prefix, against the test NATS
 * and `databaseUrl`.
 */
export async function controlPlaneEnv(
  prefix: string,
  databaseUrl: string,
  logLevel: string,
): Promise<ControlPlaneEnv> {
  const apiPort = await freePort();
  const admin = {
    email: `admin-${prefix.replace(/_/g, '-')}@example.com`,
    password: randomBytes(18).toString('base64url'),
  };
  const env: Record<string, string> = {
    PIER_PREFIX: prefix,
    PIER_NATS_URL: testEnv.PIER_TEST_NATS_URL,
    PIER_DATABASE_URL: databaseUrl,
    PIER_API_PORT: String(apiPort),
    PIER_CLUSTERS_PORT: String(await freePort()),
    PIER_AUTH_PORT: String(await freePort()),
    PIER_SCHEDULER_PORT: String(await freePort()),
    PIER_JWT_SECRET: randomBytes(48).toString('base64url'),
    PIER_SECRETS_KEY: randomBytes(32).toString('base64'),
    PIER_INTERNAL_TOKEN: randomBytes(32).toString('base64url'),
    PIER_ADMIN_EMAIL: admin.email,
    PIER_ADMIN_PASSWORD: admin.password,
    PIER_LOG_LEVEL: logLevel,
  };
  const readinessPorts = [
    env.PIER_CLUSTERS_PORT!,
    env.PIER_AUTH_PORT!,
    env.PIER_SCHEDULER_PORT!,
    env.PIER_API_PORT!,
  ];
  return { env, admin, apiPort, readinessPorts };
}
