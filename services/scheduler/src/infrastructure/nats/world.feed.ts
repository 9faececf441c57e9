import { DeliverPolicy } from '@nats-io/jetstream';
import { type PierEvent } from '@pier/contracts';
import { CONSUME_OPTIONS, type EventStore } from '@pier/eventstore';
import { type Logger } from '@pier/observability';
import { type World } from '../../application/world';

/**
 * Folds every event into the world through an ordered consumer: the whole history first, then live.
 * Contexts the scheduler does not use are skipped by the world itself.
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
  const messages = await consumer.consume({
    ...CONSUME_OPTIONS,
    callback: (m) => {
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
