import { randomUUID } from 'node:crypto';
import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NatsConnection } from '@nats-io/transport-node';
import {
  APP,
  appId,
  CLUSTER,
  ClusterCreated,
  CreateApp,
  createMessage,
  GetApp,
  GetQuota,
  ListAppEvents,
  ListApps,
  type PierEvent,
  pierEvents,
  PierError,
  SetStickySessions,
  subjectsFor,
  unlimitedQuota,
} from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { type CallContext, RpcClient, RpcServer } from '@pier/messaging';
import { createLogger } from '@pier/observability';
import {
  connectTestNats,
  deleteStreams,
  dropSchema,
  ensureTestDatabase,
  expectEventually,
  queryDatabase,
  uniqueName,
} from '@pier/testing';
import { SchedulerModule, schedulerConfigSchema } from '../src';

/**
 * Sticky sessions through the scheduler's RPC surface: the events it appends, the read model's column
 * (migration and projection) and the app's activity feed. The auth service is stubbed (unlimited quota).
 */
describe('scheduler sticky sessions (real NATS and Postgres)', () => {
  const prefix = uniqueName('scheduler-sticky');
  const subjects = subjectsFor(prefix);
  const caller: CallContext = { actor: { kind: 'user', id: 'tester' }, correlationId: 'test' };
  const clusterId = randomUUID();
  let url: string;
  let app: INestApplicationContext;
  let nc: NatsConnection;
  let rpc: RpcClient;
  let auth: RpcServer;
  let store: EventStore<PierEvent>;

  beforeAll(async () => {
    url = await ensureTestDatabase();
    nc = await connectTestNats();
    rpc = new RpcClient(nc, subjects);
    auth = new RpcServer(nc, subjects, 'auth', createLogger('auth', 'silent'));
    auth.handle(GetQuota, async () => unlimitedQuota);
    store = await EventStore.open(nc, subjects, pierEvents);
    const id = randomUUID();
    await store.append(
      CLUSTER,
      clusterId,
      [
        createMessage(
          ClusterCreated,
          { clusterId, name: 'main', description: '' },
          { messageId: id, correlationId: id, actor: caller.actor },
          new Date().toISOString(),
        ),
      ],
      0,
    );
    const config = schedulerConfigSchema.parse({
      PIER_PREFIX: prefix,
      PIER_DATABASE_URL: url,
      PIER_DATABASE_SCHEMA: prefix,
    });
    app = await NestFactory.createApplicationContext(
      SchedulerModule.forRoot(config, createLogger('scheduler', 'silent')),
      { logger: false },
    );
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
    await auth?.close();
    await deleteStreams(nc, prefix);
    await nc.close();
    await dropSchema(url, prefix);
  });

  const eventTypes = async (name: string) =>
    (await store.load(APP, appId('acme', name))).events.map((e) => e.event.type);
  const feed = async (name: string) =>
    (await rpc.call(ListAppEvents, { space: 'acme', app: name }, caller)).items.map((e) => e.summary);
  const errorCode = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (error) {
      if (error instanceof PierError) return error.code;
      throw error;
    }
    throw new Error('expected the call to fail');
  };

  it('adds the column to apps, off by default', async () => {
    const [column] = await queryDatabase(
      url,
      `SELECT data_type, is_nullable, column_default FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'apps' AND column_name = 'sticky_sessions'`,
      [prefix],
    );
    expect(column).toEqual({ data_type: 'boolean', is_nullable: 'NO', column_default: 'false' });
  });

  it('creates an app without sticky sessions by default, with AppCreated alone', async () => {
    // The world learns of the cluster asynchronously: retry until it has.
    const created = await expectEventually(() =>
      rpc.call(CreateApp, { space: 'acme', app: 'plain', cluster: 'main' }, caller),
    );
    expect(created.stickySessions).toBe(false);
    expect(await eventTypes('plain')).toEqual(['AppCreated']);
  });

  it('creates an app with sticky sessions when asked, as AppCreated then AppStickySessionsSet', async () => {
    const created = await expectEventually(() =>
      rpc.call(CreateApp, { space: 'acme', app: 'shop', cluster: 'main', stickySessions: true }, caller),
    );
    expect(created.stickySessions).toBe(true);
    expect(await eventTypes('shop')).toEqual(['AppCreated', 'AppStickySessionsSet']);
    expect((await rpc.call(GetApp, { space: 'acme', app: 'shop' }, caller)).stickySessions).toBe(true);
    expect(await feed('shop')).toEqual(['sticky sessions on', 'app created']);
  });

  it('switches sticky sessions, appending an event only when the setting changes', async () => {
    await expectEventually(() => rpc.call(CreateApp, { space: 'acme', app: 'web', cluster: 'main' }, caller));
    const set = (enabled: boolean) =>
      rpc.call(SetStickySessions, { space: 'acme', app: 'web', enabled }, caller);
    expect((await set(true)).stickySessions).toBe(true);
    expect((await set(true)).stickySessions).toBe(true);
    const listed = await rpc.call(ListApps, { space: 'acme' }, caller);
    expect(listed.items.find((a) => a.name === 'web')?.stickySessions).toBe(true);
    expect((await set(false)).stickySessions).toBe(false);
    expect(await eventTypes('web')).toEqual(['AppCreated', 'AppStickySessionsSet', 'AppStickySessionsSet']);
    expect(await feed('web')).toEqual(['sticky sessions off', 'sticky sessions on', 'app created']);
  });

  it('answers APP_NOT_FOUND for an app that does not exist', async () => {
    expect(
      await errorCode(rpc.call(SetStickySessions, { space: 'acme', app: 'nope', enabled: true }, caller)),
    ).toBe('APP_NOT_FOUND');
  });
});
