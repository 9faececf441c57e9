import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AuthModule, authConfigSchema } from '@pier/auth';
import { ClustersModule, clustersConfigSchema } from '@pier/clusters';
import { createGatewayApp, gatewayConfigSchema } from '@pier/gateway';
import { listen } from '@pier/nest';
import { createLogger, initTestTelemetry, SpanKind } from '@pier/observability';
import {
  connectTestNats,
  deleteStreams,
  dropSchema,
  ensureTestDatabase,
  expectEventually,
  httpJson,
  uniqueName,
} from '@pier/testing';

/**
 * Gateway and clusters service in one process, so an in-memory exporter sees every span: one trace must
 * run from the HTTP request through the NATS command and the event append to the projection consumer.
 */
describe('one trace across HTTP, NATS and JetStream', () => {
  const telemetry = initTestTelemetry();
  const prefix = uniqueName('tracing');
  let url: string;
  let clusters: INestApplicationContext;
  let auth: INestApplicationContext;
  let token: string;
  let gateway: NestFastifyApplication;
  let api: string;

  beforeAll(async () => {
    url = await ensureTestDatabase();
    const logger = createLogger('test', 'silent');
    clusters = await NestFactory.createApplicationContext(
      ClustersModule.forRoot(
        clustersConfigSchema.parse({
          PIER_PREFIX: prefix,
          PIER_DATABASE_URL: url,
          PIER_DATABASE_SCHEMA: prefix,
        }),
        logger,
      ),
      { logger: false },
    );
    await clusters.init();
    const admin = { email: 'admin@example.com', password: 'correct horse battery staple' };
    auth = await NestFactory.createApplicationContext(
      AuthModule.forRoot(
        authConfigSchema.parse({
          PIER_PREFIX: prefix,
          PIER_DATABASE_URL: url,
          PIER_DATABASE_SCHEMA: `${prefix}_auth`,
          PIER_JWT_SECRET: 'j'.repeat(48),
          PIER_SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
          PIER_INTERNAL_TOKEN: 'i'.repeat(40),
          PIER_ADMIN_EMAIL: admin.email,
          PIER_ADMIN_PASSWORD: admin.password,
        }),
        logger,
      ),
      { logger: false },
    );
    await auth.init();
    gateway = await createGatewayApp(gatewayConfigSchema.parse({ PIER_PREFIX: prefix }), logger);
    api = `http://127.0.0.1:${await listen(gateway, 0)}/api/v1`;
    token = (await httpJson<{ accessToken: string }>('POST', `${api}/auth/login`, admin)).body.accessToken;
  });

  afterAll(async () => {
    await gateway.close();
    await clusters.close();
    await auth.close();
    await dropSchema(url, prefix);
    await dropSchema(url, `${prefix}_auth`);
    const nc = await connectTestNats();
    await deleteStreams(nc, prefix);
    await nc.close();
    await telemetry.shutdown();
  });

  it('spans the gateway request, the RPC command, the append and the event consumer', async () => {
    telemetry.exporter.reset();
    const created = await httpJson<{ id: string }>(
      'POST',
      `${api}/clusters`,
      { name: 'traced' },
      { authorization: `Bearer ${token}` },
    );
    expect(created.status).toBe(201);

    const spans = () => telemetry.exporter.getFinishedSpans();
    const http = spans().find((s) => s.kind === SpanKind.SERVER && s.name === 'POST /api/v1/clusters');
    expect(http).toBeDefined();
    const traceId = http!.spanContext().traceId;

    await expectEventually(() => {
      const inTrace = spans().filter((s) => s.spanContext().traceId === traceId);
      const names = inTrace.map((s) => `${SpanKind[s.kind]} ${s.name}`);
      expect(names).toEqual(
        expect.arrayContaining([
          'SERVER POST /api/v1/clusters',
          'CLIENT rpc clusters.create-cluster',
          'SERVER rpc clusters.create-cluster',
          'PRODUCER append cluster',
          'CONSUMER consume ClusterCreated',
        ]),
      );
    });

    // Parent links, not just a shared id: the consumer's span descends from the producer's.
    const inTrace = spans().filter((s) => s.spanContext().traceId === traceId);
    const byId = new Map(inTrace.map((s) => [s.spanContext().spanId, s]));
    const consumer = inTrace.find((s) => s.name === 'consume ClusterCreated')!;
    const ancestors: string[] = [];
    for (let s = consumer; s.parentSpanContext?.spanId && byId.has(s.parentSpanContext.spanId);) {
      s = byId.get(s.parentSpanContext.spanId)!;
      ancestors.push(s.name);
    }
    expect(ancestors).toEqual([
      'append cluster',
      'rpc clusters.create-cluster',
      'rpc clusters.create-cluster',
      'POST /api/v1/clusters',
    ]);
  });
});
