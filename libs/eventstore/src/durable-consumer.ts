import { type ConsumerMessages, JetStreamApiError, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { type Message } from '@pier/contracts';
import {
  counter,
  extractTraceContext,
  inSpan,
  type Logger,
  type Registry,
  SpanKind,
} from '@pier/observability';
import { CONSUME_OPTIONS, type EventStore, type StoredEvent } from './event-store';

/** Handles one event; throwing makes the message be redelivered (with back-off) or dead-lettered. */
export type EventHandler<E extends Message> = (stored: StoredEvent<E>) => Promise<void>;

export interface DurableConsumerOptions<E extends Message> {
  /** Durable name, unique within the stream (prefix it with the owning service). */
  readonly name: string;
  readonly filterSubject?: string;
  readonly handler: EventHandler<E>;
  /** Deliveries before a message goes to the dead-letter stream. Default 5. */
  readonly maxAttempts?: number;
  /**
   * Whether a handler's error means the event can never be handled (bad data, not bad luck): it is then
   * dead-lettered (parked) at once instead of being retried while the events behind it wait.
   */
  readonly isPoison?: (error: unknown) => boolean;
  /** Delay before the n-th redelivery (n starts at 1). Default 200 ms doubling, capped at 10 s. */
  readonly backoffMs?: (attempt: number) => number;
  /**
   * Messages in flight at once. 1 (the default) keeps strict stream order, which projections need:
   * a failing message blocks the ones after it until it succeeds or is dead-lettered.
   */
  readonly maxAckPending?: number;
  readonly ackWaitMs?: number;
  /** Position to start from when the consumer does not exist yet (read again at each (re)creation). */
  readonly startPosition?: number | (() => Promise<number>);
  readonly logger?: Logger;
  /** Where to count handled messages (`pier_consumer_messages_total`). */
  readonly metrics?: Registry;
  /** Called after a message was dead-lettered, with its position. */
  readonly onDeadLetter?: (position: number) => Promise<void>;
}

export const DLQ_HEADERS = {
  error: 'Pier-Dlq-Error',
  consumer: 'Pier-Dlq-Consumer',
  subject: 'Pier-Dlq-Subject',
  position: 'Pier-Dlq-Position',
  attempts: 'Pier-Dlq-Attempts',
} as const;

/** The counter of handled deliveries every consumer of events reports to (`pier_consumer_messages_total`). */
export function consumerMessagesCounter(registry: Registry) {
  return counter<'consumer' | 'outcome'>(registry, {
    name: 'pier_consumer_messages_total',
    help: 'Event deliveries handled by durable consumers: acked, retried or dead_lettered',
    labelNames: ['consumer', 'outcome'],
  });
}

/** Runs the handling of one stored event inside its consumer span, a child of the producer's span. */
export function inConsumerSpan<T>(
  consumer: string,
  m: { readonly headers?: JsMsg['headers']; readonly seq: number },
  stored: StoredEvent<Message>,
  attributes: Record<string, number>,
  work: () => Promise<T>,
): Promise<T> {
  return inSpan(
    `consume ${stored.event.type}`,
    {
      kind: SpanKind.CONSUMER,
      parent: extractTraceContext(m.headers),
      attributes: { 'messaging.consumer.name': consumer, 'pier.position': m.seq, ...attributes },
    },
    work,
  );
}

export const defaultBackoff = (attempt: number) => Math.min(10_000, 200 * 2 ** (attempt - 1));

/**
 * Copies a message that cannot be handled to the dead-letter stream, with why, where it came from and
 * after how many attempts. Returns the reason as recorded.
 */
export async function publishDeadLetter(
  store: EventStore<Message>,
  consumer: string,
  m: { readonly subject: string; readonly seq: number; readonly data: Uint8Array },
  error: unknown,
  attempts: number,
): Promise<string> {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const hdrs = natsHeaders();
  hdrs.set(DLQ_HEADERS.error, reason.slice(0, 2000).replace(/[\r\n]+/g, ' '));
  hdrs.set(DLQ_HEADERS.consumer, consumer);
  hdrs.set(DLQ_HEADERS.subject, m.subject);
  hdrs.set(DLQ_HEADERS.position, String(m.seq));
  hdrs.set(DLQ_HEADERS.attempts, String(attempts));
  await store.js.publish(store.subjects.deadLetter(consumer), m.data, {
    headers: hdrs,
    msgID: `${consumer}:${m.seq}`,
  });
  return reason;
}

/**
 * A durable JetStream pull consumer with explicit acks. A message whose handler throws is redelivered
 * after a growing delay; after `maxAttempts` deliveries (or at once, if it cannot even be parsed) it is
 * copied to the dead-letter stream with its error and terminated, so one poison message never stops
 * the consumer for good.
 */
export class DurableConsumer<E extends Message> {
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;
  private restartTimer?: NodeJS.Timeout;
  private stopping = false;
  private readonly maxAttempts: number;
  private readonly handled?: ReturnType<typeof counter<'consumer' | 'outcome'>>;

  constructor(
    private readonly store: EventStore<E>,
    private readonly options: DurableConsumerOptions<E>,
  ) {
    this.maxAttempts = options.maxAttempts ?? 5;
    if (options.metrics) {
      this.handled = consumerMessagesCounter(options.metrics);
    }
  }

  get name(): string {
    return this.options.name;
  }

  /**
   * Creates the consumer if needed and starts handling messages in the background. If the message
   * flow ends by itself (the consumer was deleted, the server lost it), it is created and started again.
   */
  async start(): Promise<void> {
    this.stopping = false;
    await this.run();
  }

  /** Stops fetching and waits for the message being handled to finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    await this.messages?.close();
    await this.loop;
    this.messages = undefined;
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    await this.ensureConsumer();
    const consumer = await this.store.js.consumers.get(this.store.subjects.eventStream, this.options.name);
    const messages = await consumer.consume({
      ...CONSUME_OPTIONS,
      max_messages: Math.max(1, this.options.maxAckPending ?? 1) * 2,
    });
    this.messages = messages;
    // The client keeps pulling from a consumer that no longer exists; end the flow so it is recreated.
    void (async () => {
      for await (const status of messages.status()) {
        if (status.type === 'consumer_deleted' || status.type === 'consumer_not_found') {
          await messages.close();
          return;
        }
      }
    })().catch(() => undefined);
    this.loop = (async () => {
      for await (const m of messages) await this.handle(m);
    })()
      .catch((error: unknown) =>
        this.options.logger?.warn({ err: error, consumer: this.name }, 'consumer flow failed'),
      )
      .then(() => {
        if (!this.stopping) this.restartSoon();
      });
  }

  private restartSoon(): void {
    this.options.logger?.warn({ consumer: this.name }, 'consumer flow ended unexpectedly; restarting');
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.run().catch((error: unknown) => {
        this.options.logger?.error({ err: error, consumer: this.name }, 'consumer restart failed');
        this.restartSoon();
      });
    }, 1000);
  }

  /** Deletes the durable consumer on the server (its position is lost). */
  async delete(): Promise<void> {
    try {
      await this.store.jsm.consumers.delete(this.store.subjects.eventStream, this.options.name);
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.status !== 404) throw error;
    }
  }

  /** Position up to which every message has been acknowledged, or undefined if the consumer is absent. */
  async ackFloor(): Promise<number | undefined> {
    try {
      const info = await this.store.jsm.consumers.info(this.store.subjects.eventStream, this.options.name);
      return info.ack_floor.stream_seq;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  private async ensureConsumer(): Promise<void> {
    const config = this.store.consumerConfig(
      this.options.name,
      this.options.filterSubject ?? this.store.subjects.allEvents,
      {
        maxAckPending: this.options.maxAckPending ?? 1,
        ackWaitMs: this.options.ackWaitMs ?? 30_000,
        // The server's own limit is a safety net; the dead-letter decision is taken here, earlier.
        maxDeliver: this.maxAttempts + 5,
        startPosition:
          typeof this.options.startPosition === 'function'
            ? await this.options.startPosition()
            : this.options.startPosition,
      },
    );
    if ((await this.ackFloor()) === undefined) {
      await this.store.jsm.consumers.add(this.store.subjects.eventStream, config);
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    const attempt = m.info.deliveryCount;
    let stored: StoredEvent<E>;
    try {
      stored = this.store.toStored(m.subject, m.data, m.seq);
    } catch (error) {
      await this.deadLetter(m, error, attempt);
      return;
    }
    try {
      await inConsumerSpan(this.name, m, stored, { 'pier.attempt': attempt }, () =>
        this.options.handler(stored),
      );
      m.ack();
      this.handled?.inc({ consumer: this.name, outcome: 'acked' });
    } catch (error) {
      if (attempt >= this.maxAttempts || this.options.isPoison?.(error)) {
        await this.deadLetter(m, error, attempt);
      } else {
        this.options.logger?.warn(
          { err: error, consumer: this.name, position: m.seq, attempt },
          'event handler failed; will retry',
        );
        m.nak((this.options.backoffMs ?? defaultBackoff)(attempt));
        this.handled?.inc({ consumer: this.name, outcome: 'retried' });
      }
    }
  }

  private async deadLetter(m: JsMsg, error: unknown, attempts: number): Promise<void> {
    const reason = await publishDeadLetter(this.store, this.name, m, error, attempts);
    this.options.logger?.error(
      { consumer: this.name, position: m.seq, attempts, reason },
      'event dead-lettered',
    );
    await this.options.onDeadLetter?.(m.seq);
    this.handled?.inc({ consumer: this.name, outcome: 'dead_lettered' });
    // No reason text: servers before 2.10 ignore a `+TERM` that carries one.
    m.term();
  }
}
