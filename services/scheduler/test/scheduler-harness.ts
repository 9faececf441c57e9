import { randomUUID } from 'node:crypto';
import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NatsConnection } from '@nats-io/transport-node';
import {
  CLUSTER,
  ClusterCreated,
  createMessage,
  GetQuota,
  type PierEvent,
  pierEvents,
  subjectsFor,
  unlimitedQuota,
} from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { type CallContext, RpcClient, RpcServer } from '@pier/messaging';
import { createLogger } from '@pier/observability';
import { connectTestNats, deleteStreams, dropSchema, ensureTestDatabase, uniqueName } from '@pier/testing';
import { SchedulerModule, schedulerConfigSchema } from '../src';

/**
 * One test file's scheduler: the real service in-process on its own stream prefix and Postgres schema,
 * a cluster named `main` in the event store, and the auth service stubbed with an unlimited quota.
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
  private auth?: RpcServer;

  constructor(label: string) {
    this.prefix = uniqueName(label);
    this.subjects = subjectsFor(this.prefix);
  }

  async setUp(): Promise<void> {
    this.url = await ensureTestDatabase();
    this.nc = await connectTestNats();
    this.rpc = new RpcClient(this.nc, this.subjects);
    this.auth = new RpcServer(this.nc, this.subjects, 'auth', createLogger('auth', 'silent'));
    this.auth.handle(GetQuota, async () => unlimitedQuota);
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
    await this.auth?.close();
    await deleteStreams(this.nc, this.prefix);
    await this.nc.close();
    await dropSchema(this.url, this.prefix);
  }
}
