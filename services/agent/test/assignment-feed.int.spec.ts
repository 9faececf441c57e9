import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { type NatsConnection } from '@nats-io/transport-node';
import {
  createMessage,
  InstanceUnassigned,
  NODE_ASSIGNMENT,
  type NodeAssignmentEvent,
  type PierEvent,
  subjectsFor,
} from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { createLogger } from '@pier/observability';
import { connectTestNats, deleteStreams, expectEventually, uniqueName } from '@pier/testing';
import { AgentEventCatalog } from '../src/infrastructure/nats/agent-events.catalog';
import { JetStreamAssignmentFeed } from '../src/infrastructure/nats/assignment.feed';

/**
 * An agent SIGKILLed while its durable consumer had delivered an assignment it had not acknowledged yet
 * leaves that message pending on the server. The consumer takes one message at a time (order matters),
 * so the restarted agent got nothing new until the dead one's ack wait (30 s) ran out: in the fault
 * suite, a rollout struck by a killed agent took 33 s to settle.
 */
describe('the assignment feed of an agent that died holding an unacknowledged message', () => {
  const prefix = uniqueName('feed');
  const subjects = subjectsFor(prefix);
  const nodeId = randomUUID();
  const logger = createLogger('feed-test', 'warn');
  let nc: NatsConnection;
  let store: EventStore<PierEvent>;

  const unassigned = (instanceId: string) =>
    createMessage(
      InstanceUnassigned,
      { nodeId, instanceId, reason: 'scale-down' },
      { messageId: randomUUID(), correlationId: randomUUID(), actor: { kind: 'service', id: 'test' } },
      new Date().toISOString(),
    );
  const append = (instanceId: string) =>
    store.append(NODE_ASSIGNMENT, nodeId, [unassigned(instanceId)], 'any');

  beforeAll(async () => {
    nc = await connectTestNats();
    store = await EventStore.open(nc, subjects, new AgentEventCatalog());
  });

  afterAll(async () => {
    await deleteStreams(nc, prefix);
    await nc.close();
  });

  it('delivers what comes next at once after a restart, not after the dead consumer’s ack wait', async () => {
    const first = new JetStreamAssignmentFeed(store, nodeId, logger);
    await first.start(() => undefined);
    await first.stop();

    // The first life's last moments: the server delivers the next assignment, the agent dies before it
    // acknowledges it.
    await append('a0000000-0000-4000-8000-000000000001');
    const dying = await connectTestNats('dying-agent');
    const consumer = await jetstream(dying).consumers.get(subjects.eventStream, `agent-${nodeId}`);
    const held = await consumer.next({ expires: 5000 });
    expect(held).not.toBeNull();
    await dying.close();

    // The restarted agent: the held assignment comes from the history it reads at start, the next one
    // from the consumer.
    const seen: string[] = [];
    const second = new JetStreamAssignmentFeed(store, nodeId, logger);
    await second.start((event: NodeAssignmentEvent) => {
      if (event.type !== 'InstancesAssigned') seen.push(event.data.instanceId);
    });
    try {
      expect(seen).toEqual(['a0000000-0000-4000-8000-000000000001']);
      await append('a0000000-0000-4000-8000-000000000002');
      await expectEventually(
        () =>
          expect(seen).toEqual([
            'a0000000-0000-4000-8000-000000000001',
            'a0000000-0000-4000-8000-000000000002',
          ]),
        { timeoutMs: 10_000, intervalMs: 50, what: 'the assignment after the restart' },
      );
    } finally {
      await second.stop();
    }
  }, 60_000);
});
