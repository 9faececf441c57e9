import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NatsConnection } from '@nats-io/transport-node';
import {
  CLUSTER,
  ClusterCreated,
  createMessage,
  CreateSpace,
  ListUsers,
  type PierEvent,
  pierEvents,
  subjectsFor,
} from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { type CallContext, RpcClient } from '@pier/messaging';
import { createLogger } from '@pier/observability';
import {
  connectTestNats,
  deleteStreams,
  dropSchema,
  ensureTestDatabase,
  expectEventually,
  freePort,
  httpJson,
  type RunningProcess,
  startNodeProcess,
  testEnv,
  uniqueName,
} from '@pier/testing';
import { SchedulerModule, schedulerConfigSchema } from '../src';

/** The auth service as built (`nx run @pier/auth:build`, a dependency of this project's `test:int`). */
const AUTH_SCRIPT = join(__dirname, '..', '..', 'auth', 'dist', 'main.js');

/**
 * One test file's scheduler: the real service in-process on its own stream prefix and Postgres schema,
 * a cluster named `main` in the event store, and the real auth service (a process) that owns the space
 * `acme` whose quota the scheduler checks.
 */
export class SchedulerHarness {
  readonly prefix: string;
  readonly subjects;
  readonly caller: CallContext = { actor: { kind: 'user', id: 'tester' }, correlationId: 'test' };
  readonly clusterId = randomUUID();
  url!: string;
  nc!: NatsConnection;
  rpc!: RpcClient;
  store!: EventStore<PierEvent>;
  private app?: INestApplicationContext;
  private auth?: RunningProcess;

  constructor(label: string) {
    this.prefix = uniqueName(label);
    this.subjects = subjectsFor(this.prefix);
  }

  async setUp(): Promise<void> {
    this.url = await ensureTestDatabase();
    this.nc = await connectTestNats();
    this.rpc = new RpcClient(this.nc, this.subjects);
    await this.startAuth();
    this.store = await EventStore.open(this.nc, this.subjects, pierEvents);
    const id = randomUUID();
    await this.store.append(
      CLUSTER,
      this.clusterId,
      [
        createMessage(
          ClusterCreated,
          { clusterId: this.clusterId, name: 'main', description: '' },
          { messageId: id, correlationId: id, actor: this.caller.actor },
          new Date().toISOString(),
        ),
      ],
      0,
    );
    const config = schedulerConfigSchema.parse({
      PIER_PREFIX: this.prefix,
      PIER_DATABASE_URL: this.url,
      PIER_DATABASE_SCHEMA: this.prefix,
    });
    this.app = await NestFactory.createApplicationContext(
      SchedulerModule.forRoot(config, createLogger('scheduler', 'silent')),
      { logger: false },
    );
    await this.app.init();
  }

  async tearDown(): Promise<void> {
    await this.app?.close();
    await this.auth?.stop('SIGTERM');
    await deleteStreams(this.nc, this.prefix);
    await this.nc.close();
    await dropSchema(this.url, this.prefix);
    await dropSchema(this.url, `${this.prefix}_auth`);
  }

  /** Starts auth with a platform admin, and has it create the space `acme` owned by that admin. */
  private async startAuth(): Promise<void> {
    const port = await freePort();
    const admin = `admin-${randomUUID()}@example.com`;
    this.auth = startNodeProcess('auth', AUTH_SCRIPT, {
      PIER_PREFIX: this.prefix,
      PIER_NATS_URL: testEnv.PIER_TEST_NATS_URL,
      PIER_DATABASE_URL: this.url,
      PIER_DATABASE_SCHEMA: `${this.prefix}_auth`,
      PIER_AUTH_PORT: String(port),
      PIER_JWT_SECRET: randomBytes(48).toString('base64url'),
      PIER_SECRETS_KEY: randomBytes(32).toString('base64'),
      PIER_INTERNAL_TOKEN: randomBytes(32).toString('base64url'),
      PIER_ADMIN_EMAIL: admin,
      PIER_ADMIN_PASSWORD: randomBytes(18).toString('base64url'),
      PIER_LOG_LEVEL: 'warn',
    });
    await expectEventually(
      async () => {
        if (this.auth!.child.exitCode !== null) throw new Error(`auth exited:\n${this.auth!.output()}`);
        expect((await httpJson('GET', `http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'auth ready' },
    );
    const owner = await expectEventually(async () => {
      const users = await this.rpc.call(ListUsers, { limit: 100 }, this.caller);
      const found = users.items.find((u) => u.email === admin);
      expect(found).toBeDefined();
      return found!;
    });
    await this.rpc.call(CreateSpace, { name: 'acme', ownerId: owner.id }, this.caller);
  }
}
