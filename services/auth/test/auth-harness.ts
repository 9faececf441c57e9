import { randomBytes } from 'node:crypto';
import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NatsConnection } from '@nats-io/transport-node';
import { subjectsFor } from '@pier/contracts';
import { type CallContext, RpcClient } from '@pier/messaging';
import { createLogger } from '@pier/observability';
import { connectTestNats, deleteStreams, dropSchema, ensureTestDatabase, uniqueName } from '@pier/testing';
import { AuthModule, authConfigSchema } from '../src';

/** The auth service in-process against real NATS and Postgres, on a prefix and schema of its own. */
export interface AuthHarness {
  readonly prefix: string;
  readonly databaseUrl: string;
  readonly nc: NatsConnection;
  readonly rpc: RpcClient;
  readonly caller: CallContext;
  close(): Promise<void>;
}

export async function startAuth(label: string, env: Record<string, string> = {}): Promise<AuthHarness> {
  const prefix = uniqueName(label);
  const databaseUrl = await ensureTestDatabase();
  const config = authConfigSchema.parse({
    PIER_PREFIX: prefix,
    PIER_DATABASE_URL: databaseUrl,
    PIER_DATABASE_SCHEMA: prefix,
    PIER_JWT_SECRET: randomBytes(48).toString('base64url'),
    PIER_SECRETS_KEY: randomBytes(32).toString('base64'),
    PIER_INTERNAL_TOKEN: randomBytes(32).toString('base64url'),
    ...env,
  });
  const app: INestApplicationContext = await NestFactory.createApplicationContext(
    AuthModule.forRoot(config, createLogger('auth', 'silent')),
    { logger: false },
  );
  await app.init();
  const nc = await connectTestNats();
  return {
    prefix,
    databaseUrl,
    nc,
    rpc: new RpcClient(nc, subjectsFor(prefix)),
    caller: { actor: { kind: 'user', id: 'tester' }, correlationId: 'test' },
    async close() {
      await app.close();
      await deleteStreams(nc, prefix);
      await nc.close();
      await dropSchema(databaseUrl, prefix);
    },
  };
}
