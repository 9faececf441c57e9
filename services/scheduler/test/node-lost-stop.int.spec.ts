import { randomUUID } from 'node:crypto';
import { type NatsConnection } from '@nats-io/transport-node';
import {
  CLUSTER,
  ClusterCreated,
  createMessage,
  INSTANCE,
  NODE,
  NodeLost,
  type PierEvent,
  pierEvents,
  subjectsFor,
} from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { createLogger } from '@pier/observability';
import { connectTestNats, deleteStreams, expectEventually, uniqueName } from '@pier/testing';
import { World } from '../src/application/world';
import { followWorld } from '../src/infrastructure/nats/world.feed';
import { startSchedulerReplica } from '../src/scheduler.replica';
import { createApp, joinNode, scaleApp } from './support/node-fixture';

/**
 * The scheduler as the service composes it, on a stream with one node and no agent: an instance asked
 * to stop waits for its agent's report, and when the node is lost instead, the scheduler records the
 * stop itself (no agent will). Until then it stayed `stopping` for as long as the node was away.
 */
describe('scheduler: an instance stopping on a node that is then lost (real NATS)', () => {
  const prefix = uniqueName('scheduler-lost');
  const clusterId = randomUUID();
  const observed = new World();
  let nc: NatsConnection;
  let store: EventStore<PierEvent>;
  let feed: { stop(): Promise<void> } | undefined;
  let replica: { stop(): Promise<void> } | undefined;

  const cause = () => {
    const id = randomUUID();
    return { messageId: id, correlationId: id, actor: { kind: 'system', id: 'test' } as const };
  };
  const now = () => new Date().toISOString();
  const instancesOf = (app: string) => [...observed.instances.values()].filter((i) => i.app === app);

  beforeAll(async () => {
    nc = await connectTestNats('scheduler-lost');
    store = await EventStore.open(nc, subjectsFor(prefix), pierEvents);
    await store.append(
      CLUSTER,
      clusterId,
      [createMessage(ClusterCreated, { clusterId, name: 'main', description: '' }, cause(), now())],
      0,
    );
    feed = await followWorld(store, observed, createLogger('observer', 'silent'), () => undefined);
    replica = await startSchedulerReplica({
      store,
      world: new World(),
      leadership: { acquire: () => Promise.resolve(true), release: () => Promise.resolve() },
      intervalMs: 50,
      logger: createLogger('scheduler', 'silent'),
    });
  }, 60_000);

  afterAll(async () => {
    await replica?.stop();
    await feed?.stop();
    await deleteStreams(nc, prefix);
    await nc.close();
  }, 60_000);

  it('stops it (node-lost) once the node is lost, and does not stop it twice', async () => {
    const nodeId = await joinNode(store, clusterId, 'n1');
    await createApp(store, clusterId, 'web', 1);
    const [instance] = await expectEventually(() => {
      const placed = instancesOf('web').filter((i) => i.nodeId === nodeId);
      expect(placed).toHaveLength(1);
      return placed;
    });
    await scaleApp(store, 'web', 0);
    // Asked to stop; the agent that would report the stop is gone with its node.
    await expectEventually(() =>
      expect(observed.instances.get(instance!.id)).toMatchObject({ stopRequested: true, phase: 'stopping' }),
    );
    await store.append(
      NODE,
      nodeId,
      [createMessage(NodeLost, { nodeId, lastSeenAt: now(), silentForMs: 3100 }, cause(), now())],
      'any',
    );
    await expectEventually(
      () => expect(observed.instances.get(instance!.id)).toMatchObject({ phase: 'stopped' }),
      { timeoutMs: 15_000, what: 'the stopping instance stopped once its node was lost' },
    );
    // A few more passes: the stop is recorded once, and the node keeps nothing assigned.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { events } = await store.load(INSTANCE, instance!.id);
    expect(events.map((e) => e.event.type).filter((t) => t === 'InstanceStopped')).toHaveLength(1);
    expect([...(observed.assigned.get(nodeId) ?? [])]).toEqual([]);
  }, 60_000);
});
