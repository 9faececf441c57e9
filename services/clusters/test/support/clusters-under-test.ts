import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NatsConnection } from '@nats-io/transport-node';
import { subjectsFor } from '@pier/contracts';
import { RpcClient } from '@pier/messaging';
import { createLogger } from '@pier/observability';
import { connectTestNats, deleteStreams, dropSchema, ensureTestDatabase } from '@pier/testing';
import { ClustersModule, clustersConfigSchema } from '../../src';

/** The clusters service in-process on its own stream prefix and schema, and a client of its RPC. */
export interface ClustersUnderTest {
  readonly url: string;
  readonly nc: NatsConnection;
  readonly rpc: RpcClient;
  /** Closes the service and the connection, and removes the streams and the schema. */
  stop(): Promise<void>;
}

/** Starts the service as `main.ts` composes it (without the HTTP ops listener); `env` adds settings. */
export async function startClusters(
  prefix: string,
  env: Record<string, string> = {},
): Promise<ClustersUnderTest> {
  const url = await ensureTestDatabase();
  const config = clustersConfigSchema.parse({
    PIER_PREFIX: prefix,
    PIER_DATABASE_URL: url,
    PIER_DATABASE_SCHEMA: prefix,
    ...env,
  });
  const app: INestApplicationContext = await NestFactory.createApplicationContext(
    ClustersModule.forRoot(config, createLogger('clusters', 'silent')),
    { logger: false },
  );
  await app.init();
  const nc = await connectTestNats();
  return {
    url,
    nc,
    rpc: new RpcClient(nc, subjectsFor(prefix)),
    async stop() {
      await app.close();
      await deleteStreams(nc, prefix);
      await nc.close();
      await dropSchema(url, prefix);
    },
  };
}
