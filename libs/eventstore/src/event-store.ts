import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs, type NatsConnection, nanos } from '@nats-io/transport-node';
import { type Message, type MessageCatalog, PierError, type Subjects } from '@pier/contracts';
import { injectTraceContext, inSpan, SpanKind } from '@pier/observability';

/** An event read back from the stream, with its position. */
export interface StoredEvent<E extends Message = Message> {
  readonly event: E;
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** Stream sequence of this event: a global, gap-tolerant, increasing position. */
  readonly position: number;
}

/** The outcome of an append: the aggregate's new version (the position of its last event). */
export interface AppendResult {
  readonly version: number;
  readonly positions: readonly number[];
}

/**
 * Expected version of an aggregate: the position of its last event, `0` for an aggregate that must not
 * exist yet, or `'any'` to skip the check.
 */
export type ExpectedVersion = number | 'any';

/** One append of `EventStore.appendAll`: events of one aggregate at an expected version. */
export interface AppendRequest<E extends Message = Message> {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly events: readonly E[];
  readonly expectedVersion: ExpectedVersion;
}

/** How many appends `appendAll` keeps in flight by default. */
const APPEND_WINDOW = 256;

export interface EventStoreOptions {
  /** Stream replicas (1 on a single server; 3 in a JetStream cluster). */
  readonly replicas?: number;
  /** Window within which a repeated message id is dropped as a duplicate. */
  readonly duplicateWindowMs?: number;
}

/**
 * Options for every `consume()` of the platform. `expires`, how long one pull request lasts, is also
 * how long nats.js waits between its checks of a consumer after a reconnect when the check fails (a
 * JetStream not back yet after a NATS restart): with the default, 30 s, consumers stayed idle for up to
 * 30 s per failed check after NATS came back. Heartbeats come every `expires / 2`.
 */
export const CONSUME_OPTIONS = { expires: 5_000 } as const;

/** JetStream's API error for a failed `Nats-Expected-Last-Subject-Sequence` check. */
const WRONG_LAST_SEQUENCE = 10071;
const HEADER_EVENT_TYPE = 'Pier-Event-Type';

/**
 * Event store on JetStream. One aggregate instance is one subject; an aggregate's version is the stream
 * sequence of its last event, and appends are conditional on it (optimistic concurrency). The message id
 * of every event is its `metadata.messageId`, so a retried append is de-duplicated by the server.
 */
export class EventStore<E extends Message = Message> {
  private constructor(
    readonly connection: NatsConnection,
    readonly subjects: Subjects,
    readonly catalog: MessageCatalog<E>,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
  ) {}

  static async open<E extends Message>(
    connection: NatsConnection,
    subjects: Subjects,
    catalog: MessageCatalog<E>,
    options: EventStoreOptions = {},
  ): Promise<EventStore<E>> {
    const jsm = await jetstreamManager(connection);
    const store = new EventStore(connection, subjects, catalog, jetstream(connection), jsm);
    await store.ensureStreams(options);
    return store;
  }

  /** Creates the event and dead-letter streams, or brings their settings up to date. */
  private async ensureStreams(options: EventStoreOptions): Promise<void> {
    const replicas = options.replicas ?? 1;
    await this.upsertStream({
      name: this.subjects.eventStream,
      subjects: [this.subjects.allEvents],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.New,
      num_replicas: replicas,
      duplicate_window: nanos(options.duplicateWindowMs ?? 5 * 60_000),
      max_age: 0,
    });
    await this.upsertStream({
      name: this.subjects.deadLetterStream,
      subjects: [this.subjects.allDeadLetters],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      num_replicas: replicas,
      max_age: nanos(30 * 24 * 3600 * 1000),
    });
  }

  private async upsertStream(config: Parameters<JetStreamManager['streams']['add']>[0]): Promise<void> {
    try {
      await this.jsm.streams.info(config.name!);
      await this.jsm.streams.update(config.name!, config);
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.status !== 404) throw error;
      await this.jsm.streams.add(config);
    }
  }

  /**
   * Appends events to one aggregate if its version still equals `expectedVersion`; otherwise throws a
   * `CONCURRENCY_CONFLICT` error and writes nothing. Events after the first are chained on the position
   * of the previous one, so a concurrent writer can never interleave with a multi-event append.
   */
  async append(
    aggregateType: string,
    aggregateId: string,
    events: readonly E[],
    expectedVersion: ExpectedVersion,
  ): Promise<AppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    const subject = this.subjects.aggregate(aggregateType, aggregateId);
    return inSpan(
      `append ${aggregateType}`,
      { kind: SpanKind.PRODUCER, attributes: { 'messaging.destination.name': subject } },
      async () => {
        const positions: number[] = [];
        let expected = expectedVersion;
        for (const event of events) {
          const hdrs = natsHeaders();
          hdrs.set(HEADER_EVENT_TYPE, event.type);
          injectTraceContext(hdrs);
          try {
            const ack = await this.js.publish(subject, this.catalog.serialize(event), {
              msgID: event.metadata.messageId,
              headers: hdrs,
              ...(expected === 'any' ? {} : { expect: { lastSubjectSequence: expected } }),
            });
            positions.push(ack.seq);
            expected = ack.seq;
          } catch (error) {
            if (error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) {
              throw new PierError(
                'CONCURRENCY_CONFLICT',
                `${aggregateType} ${aggregateId} was changed concurrently`,
                {
                  aggregateType,
                  aggregateId,
                  expectedVersion: expected,
                },
              );
            }
            throw error;
          }
        }
        return { version: positions[positions.length - 1]!, positions };
      },
    );
  }

  /**
   * Appends to many aggregates without waiting for one acknowledgement before sending the next: up to
   * `window` appends are in flight at once, each with its own expected version, so a batch costs about
   * one round trip per window instead of one per append. Each append succeeds or fails alone (a
   * `CONCURRENCY_CONFLICT` refuses that append only); the outcomes come back in the order asked. Two
   * requests for one aggregate race: give each aggregate at most one request.
   */
  async appendAll(
    requests: readonly AppendRequest<E>[],
    window = APPEND_WINDOW,
  ): Promise<PromiseSettledResult<AppendResult>[]> {
    const outcomes: PromiseSettledResult<AppendResult>[] = new Array(requests.length);
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < requests.length; i = next++) {
        const r = requests[i]!;
        try {
          const value = await this.append(r.aggregateType, r.aggregateId, r.events, r.expectedVersion);
          outcomes[i] = { status: 'fulfilled', value };
        } catch (reason) {
          outcomes[i] = { status: 'rejected', reason };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(window, requests.length)) }, lane));
    return outcomes;
  }

  /** The current version of an aggregate: the position of its last event, 0 when it has none. */
  async version(aggregateType: string, aggregateId: string): Promise<number> {
    const subject = this.subjects.aggregate(aggregateType, aggregateId);
    const last = await this.jsm.streams.getMessage(this.subjects.eventStream, { last_by_subj: subject });
    return last?.seq ?? 0;
  }

  /**
   * The last event of an aggregate with its position, or undefined when it has none: what a single
   * writer that appends at the aggregate's version needs to know of it, without reading its history.
   */
  async lastEvent(aggregateType: string, aggregateId: string): Promise<StoredEvent<E> | undefined> {
    const subject = this.subjects.aggregate(aggregateType, aggregateId);
    const last = await this.jsm.streams.getMessage(this.subjects.eventStream, { last_by_subj: subject });
    return last ? this.toStored(last.subject, last.data, last.seq) : undefined;
  }

  /**
   * Reads the events of one aggregate, oldest first, with the aggregate's version: every event, or
   * those after position `after` (what a caller that already folded up to there needs).
   */
  async load(
    aggregateType: string,
    aggregateId: string,
    after = 0,
  ): Promise<{ events: StoredEvent<E>[]; version: number }> {
    const version = await this.version(aggregateType, aggregateId);
    if (version <= after) return { events: [], version };
    const subject = this.subjects.aggregate(aggregateType, aggregateId);
    const consumer = await this.js.consumers.get(this.subjects.eventStream, {
      filter_subjects: subject,
      ...(after > 0
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 }
        : { deliver_policy: DeliverPolicy.All }),
    });
    const events: StoredEvent<E>[] = [];
    try {
      while (events.length === 0 || events[events.length - 1]!.position < version) {
        const batch = await consumer.fetch({ max_messages: 500, expires: 2000 });
        let received = 0;
        for await (const m of batch) {
          received++;
          events.push(this.toStored(m.subject, m.data, m.seq));
          if (m.seq >= version) break;
        }
        if (received === 0) throw new Error(`timed out reading ${subject}`);
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    return { events, version: events[events.length - 1]!.position };
  }

  /** Parses a stored message (upcasting old versions) into a `StoredEvent`. */
  toStored(subject: string, data: Uint8Array, position: number): StoredEvent<E> {
    const parts = subject.split('.');
    const event = this.catalog.parse(JSON.parse(new TextDecoder().decode(data)));
    return {
      event,
      aggregateType: parts[parts.length - 2]!,
      aggregateId: parts[parts.length - 1]!,
      position,
    };
  }

  /** When the event stream was created: positions of a recreated stream mean something else. */
  async streamCreated(): Promise<string> {
    const info = await this.jsm.streams.info(this.subjects.eventStream);
    return info.created;
  }

  /** Highest position in the event stream (0 when empty). */
  async lastPosition(): Promise<number> {
    const info = await this.jsm.streams.info(this.subjects.eventStream);
    return info.state.last_seq;
  }

  /** Durable consumer configuration shared by reactors and projections. */
  consumerConfig(
    name: string,
    filterSubject: string,
    options: { maxAckPending: number; ackWaitMs: number; maxDeliver: number; startPosition?: number },
  ) {
    return {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      filter_subject: filterSubject,
      max_ack_pending: options.maxAckPending,
      ack_wait: nanos(options.ackWaitMs),
      max_deliver: options.maxDeliver,
      ...(options.startPosition && options.startPosition > 1
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: options.startPosition }
        : { deliver_policy: DeliverPolicy.All }),
    };
  }

  /** Exposed for the dead-letter writer. */
  static headerValue(h: MsgHdrs | undefined, key: string): string | undefined {
    return h?.get(key) || undefined;
  }
}
