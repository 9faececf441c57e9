import { DeliverPolicy } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { subjectsFor } from '@pier/contracts';
import { expectEventually, NatsServer, uniqueName } from '@pier/testing';
import { CONSUME_OPTIONS, DurableConsumer, EventStore } from '../src';
import { catalog, type Incremented, incremented } from './test-events';

/**
 * After a NATS restart, a client reconnects as soon as the server listens, and nats.js then checks each
 * consumer before it pulls again. When JetStream is not up yet at that moment, the next check comes
 * only after a back-off of about `expires` (30 s by default, 15–45 s with jitter): two CI runs saw
 * consumers idle for close to a minute after a NATS restart. Here the server first comes back without
 * JetStream, then with it.
 */
describe('consumers after a NATS restart whose JetStream comes back late', () => {
  const nats = new NatsServer();
  const prefix = uniqueName('natsback');
  const subjects = subjectsFor(prefix);
  let nc: NatsConnection;
  let store: EventStore<Incremented>;

  beforeAll(async () => {
    await nats.start();
    nc = await connect({
      servers: nats.url,
      name: 'natsback',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
      timeout: 3000,
    });
    store = await EventStore.open(nc, subjects, catalog);
  });

  afterAll(async () => {
    await nc?.close();
    await nats.remove();
  });

  it('resume within seconds, durable and ordered alike', async () => {
    const durable: number[] = [];
    const ordered: number[] = [];
    const consumer = new DurableConsumer(store, {
      name: 'after-restart',
      filterSubject: subjects.aggregate('counter', 'c'),
      handler: async ({ event }) => void durable.push(event.data.by),
    });
    await consumer.start();
    const feed = await store.js.consumers.get(subjects.eventStream, {
      filter_subjects: subjects.aggregate('counter', 'c'),
      deliver_policy: DeliverPolicy.All,
    });
    const messages = await feed.consume({
      ...CONSUME_OPTIONS,
      callback: (m) =>
        void ordered.push((store.toStored(m.subject, m.data, m.seq).event as Incremented).data.by),
    });
    try {
      await store.append('counter', 'c', [incremented('c', 1)], 0);
      await expectEventually(() => {
        expect(durable).toEqual([1]);
        expect(ordered).toEqual([1]);
      });

      await nats.stop();
      await nats.start({ jetstream: false });
      // The client is back and its check of each consumer has failed.
      await expectEventually(() => expect(nc.isClosed() || nc.info?.jetstream).toBeFalsy(), {
        what: 'reconnected to the server without JetStream',
      });
      await new Promise((r) => setTimeout(r, 500));
      await nats.stop();
      await nats.start();

      const back = Date.now();
      // One event, so a retried append is de-duplicated by its message id.
      const second = incremented('c', 2);
      await expectEventually(
        async () => {
          await store.append('counter', 'c', [second], 'any');
        },
        { timeoutMs: 10_000, intervalMs: 100, what: 'appending again' },
      );
      await expectEventually(
        () => {
          expect(durable).toEqual([1, 2]);
          expect(ordered).toEqual([1, 2]);
        },
        { timeoutMs: 30_000, intervalMs: 50, what: 'both consumers handling events again' },
      );
      // The back-off after a failed check is 0.5–1.5 × expires: 2.5–7.5 s now, 15–45 s with the default.
      expect(Date.now() - back).toBeLessThan(10_000);
    } finally {
      await messages.close();
      await consumer.stop();
    }
  }, 60_000);
});
