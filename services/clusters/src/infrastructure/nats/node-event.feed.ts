import { DeliverPolicy } from '@nats-io/jetstream';
import { NODE, type NodeEvent, type PierEvent } from '@pier/contracts';
import { CONSUME_OPTIONS, type EventStore } from '@pier/eventstore';
import { type Logger } from '@pier/observability';
import { type NodeEventFeed } from '../../application/ports';

/**
 * Every node event through an ordered (ephemeral) consumer: the whole history first, then live. The
 * client re-creates the consumer after a gap or a NATS restart and resumes where it was.
 */
export class JetStreamNodeEventFeed implements NodeEventFeed {
  constructor(
    private readonly store: EventStore<PierEvent>,
    private readonly logger: Logger,
  ) {}

  async follow(onEvent: (event: NodeEvent) => void): Promise<{ stop(): Promise<void> }> {
    const consumer = await this.store.js.consumers.get(this.store.subjects.eventStream, {
      filter_subjects: this.store.subjects.aggregateType(NODE),
      deliver_policy: DeliverPolicy.All,
    });
    const messages = await consumer.consume({
      ...CONSUME_OPTIONS,
      callback: (m) => {
        try {
          onEvent(this.store.toStored(m.subject, m.data, m.seq).event as NodeEvent);
        } catch (error) {
          this.logger.error(
            { err: error, position: m.seq },
            'unreadable node event skipped by the liveness feed',
          );
        }
      },
    });
    return { stop: async () => void (await messages.close()) };
  }
}
