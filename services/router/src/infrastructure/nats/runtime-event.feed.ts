import { DeliverPolicy } from '@nats-io/jetstream';
import { type PierEvent } from '@pier/contracts';
import { CONSUME_OPTIONS, type EventStore } from '@pier/eventstore';
import { type Logger } from '@pier/observability';
import { type RuntimeEventFeed, type Subscription } from '../../application/ports';

/**
 * The platform's consume options with a shorter pull (and heartbeat): after a NATS restart nats.js checks
 * the consumer again only every `expires` while JetStream is not back, and until the feed resumes the
 * table misses the readiness of new instances (a drain waits for them, within its deadline). One pull a
 * second for the router's one consumer.
 */
const FEED_CONSUME_OPTIONS = { ...CONSUME_OPTIONS, expires: 1_000 } as const;

/**
 * Every event of the runtime context through an ordered (ephemeral) consumer: the whole history first,
 * then live. The client re-creates the consumer after a gap or a NATS restart and resumes where it was,
 * so the route table can always be rebuilt from the stream alone.
 */
export class JetStreamRuntimeEventFeed implements RuntimeEventFeed {
  constructor(
    private readonly store: EventStore<PierEvent>,
    private readonly logger: Logger,
  ) {}

  async follow(onEvent: (event: PierEvent, position: number) => void): Promise<Subscription> {
    const { eventStream, context } = this.store.subjects;
    const filter = context('runtime');
    // Where "now" is: the history is delivered once this position has been.
    const last = await this.store.jsm.streams.getMessage(eventStream, { last_by_subj: filter });
    const target = last?.seq ?? 0;
    let caughtUp!: () => void;
    const history = new Promise<void>((resolve) => (caughtUp = resolve));
    if (target === 0) caughtUp();
    const consumer = await this.store.js.consumers.get(eventStream, {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.All,
    });
    const messages = await consumer.consume({
      ...FEED_CONSUME_OPTIONS,
      callback: (m) => {
        try {
          onEvent(this.store.toStored(m.subject, m.data, m.seq).event, m.seq);
        } catch (error) {
          this.logger.error(
            { err: error, position: m.seq },
            'unreadable runtime event skipped by the router',
          );
        }
        if (m.seq >= target) caughtUp();
      },
    });
    await history;
    return { stop: async () => void (await messages.close()) };
  }
}
