import { randomUUID } from 'node:crypto';
import { type NatsConnection } from '@nats-io/transport-node';
import {
  AUDIT,
  AuditRecorded,
  CLUSTER,
  ClusterCreated,
  createMessage,
  type PierEvent,
  pierEvents,
  subjectsFor,
} from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { createLogger } from '@pier/observability';
import { connectTestNats, deleteStreams, expectEventually, uniqueName } from '@pier/testing';
import { World } from '../src/application/world';
import { followWorld } from '../src/infrastructure/nats/world.feed';

/** The scheduler's feed of the event stream (real NATS): what it folds into its world, and what it wakes. */
describe('world feed (real NATS)', () => {
  const prefix = uniqueName('world-feed');
  let nc: NatsConnection;
  let store: EventStore<PierEvent>;

  beforeAll(async () => {
    nc = await connectTestNats();
    store = await EventStore.open(nc, subjectsFor(prefix), pierEvents);
  });

  afterAll(async () => {
    await deleteStreams(nc, prefix);
    await nc.close();
  });

  const cause = () => {
    const id = randomUUID();
    return { messageId: id, correlationId: id, actor: { kind: 'system', id: 'test' } as const };
  };
  const now = () => new Date().toISOString();

  it('folds in what planning reads, passes over audit records unread and unwoken, and notes their position', async () => {
    const clusterId = randomUUID();
    await store.append(
      CLUSTER,
      clusterId,
      [createMessage(ClusterCreated, { clusterId, name: 'main', description: '' }, cause(), now())],
      0,
    );
    const record = () =>
      createMessage(
        AuditRecorded,
        {
          action: 'scaleVersion',
          method: 'POST',
          path: '/api/v1/spaces/acme/apps/web/versions/1/scale',
          space: 'acme',
          target: {},
          status: 202,
          outcome: 'succeeded',
          errorCode: null,
          ip: null,
        },
        cause(),
        now(),
      );
    const { version: last } = await store.append(AUDIT, 'acme', [record(), record()], 'any');
    const world = new World();
    let woken = 0;
    const feed = await followWorld(store, world, createLogger('test', 'silent'), () => woken++);
    try {
      await expectEventually(() => expect(world.position).toBe(last), { what: 'the last position' });
      expect(world.clusters.get(clusterId)?.name).toBe('main');
      expect(woken).toBe(1);
    } finally {
      await feed.stop();
    }
  });
});
