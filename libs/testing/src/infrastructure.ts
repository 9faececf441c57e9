import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Client } from 'pg';
import { assertTestNamespace, testEnv } from './test-env';

/** Connects to the test NATS server, or fails with what to do about it. */
export async function connectTestNats(name = 'test'): Promise<NatsConnection> {
  try {
    return await connect({ servers: testEnv.PIER_TEST_NATS_URL, name, timeout: 3000 });
  } catch (error) {
    throw new Error(
      `NATS with JetStream is not reachable at ${testEnv.PIER_TEST_NATS_URL} (${(error as Error).message}). ` +
        'Start it with ./deploy/local/deps.sh.',
    );
  }
}

/** Makes sure the test database exists and answers; returns its URL. */
export async function ensureTestDatabase(url = testEnv.PIER_TEST_DATABASE_URL): Promise<string> {
  const target = new URL(url);
  const database = target.pathname.replace(/^\//, '');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `Postgres is not reachable at ${admin.host} (${(error as Error).message}). Start it with ./deploy/local/deps.sh.`,
    );
  }
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) {
      await client.query(`CREATE DATABASE "${database}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created concurrently by another test file
      });
    }
  } finally {
    await client.end();
  }
  return url;
}

/** Drops a test schema and everything in it; refuses a schema that is no test namespace. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  assertTestNamespace(schema, 'the schema');
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Runs one query against the test database (for assertions that read tables directly). */
export async function queryDatabase<T = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * Deletes every stream of the prefix (test clean-up): names starting with the prefix and `_`. Refuses a
 * prefix that is no test namespace, so that no clean-up ever deletes the streams of a platform in use.
 */
export async function deleteStreams(nc: NatsConnection, prefix: string): Promise<void> {
  assertTestNamespace(prefix, 'the streams of');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const jsm = await jetstreamManager(nc);
  const upper = prefix.toUpperCase().replace(/-/g, '_');
  for await (const name of jsm.streams.names()) {
    if (name.startsWith(`${upper}_`)) await jsm.streams.delete(name);
  }
}
