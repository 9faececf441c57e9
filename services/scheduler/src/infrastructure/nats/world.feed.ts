import { DeliverPolicy } from '@nats-io/jetstream';
import { type BoundedContext, type PierEvent } from '@pier/contracts';
import { CONSUME_OPTIONS, type EventStore } from '@pier/eventstore';
import { type Logger } from '@pier/observability';
import { type World } from '../../application/world';

/** The bounded contexts whose events the world folds: clusters and nodes, apps and instances, its own lease. */
const FOLLOWED: readonly BoundedContext[] = ['clusters', 'runtime', 'scheduling'];

/**
 * Folds every event into the world through an ordered consumer: the whole history first, then live.
 * Events of contexts the world does not use (the audit log's two records of every API write, tenancy)
 * are passed over by their subject, unread, and wake no pass: the world only notes their position
 * (a position the reconciler waits for may be one of them). `onEvent` follows each event folded in.
 */
export async function followWorld(
  store: EventStore<PierEvent>,
  world: World,
  logger: Logger,
  onEvent: () => void,
): Promise<{ stop(): Promise<void> }> {
  const consumer = await store.js.consumers.get(store.subjects.eventStream, {
    filter_subjects: store.subjects.allEvents,
    deliver_policy: DeliverPolicy.All,
  });
  const followed = FOLLOWED.map((context) => store.subjects.context(context).slice(0, -1));
  const messages = await consumer.consume({
    ...CONSUME_OPTIONS,
    callback: (m) => {
      if (!followed.some((prefix) => m.subject.startsWith(prefix))) {
        world.passOver(m.seq);
        return;
      }
      try {
        world.apply(store.toStored(m.subject, m.data, m.seq));
        onEvent();
      } catch (error) {
        logger.error({ err: error, position: m.seq }, 'unreadable event skipped by the scheduler');
      }
    },
  });
  return { stop: async () => void (await messages.close()) };
}
