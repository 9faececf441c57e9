import { type ConsumerMessages, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { type Message, PierError } from '@pier/contracts';
import {
  CONSUME_OPTIONS,
  consumerMessagesCounter,
  defaultBackoff,
  DurableConsumer,
  type EventStore,
  inConsumerSpan,
  publishDeadLetter,
  type StoredEvent,
} from '@pier/eventstore';
import { type Logger, type Registry } from '@pier/observability';
import { type DataSource, type EntityManager } from 'typeorm';
import { isPoisonError } from './poison';

/** How often a waiter reads the checkpoint again, for events another replica applied. */
const WAIT_RECHECK_MS = 200;

/** A read model built from events. `apply` runs inside the transaction that also moves the checkpoint. */
export interface Projection<E extends Message> {
  /** Unique per service; also the durable consumer's name. */
  readonly name: string;
  readonly filterSubject?: string;
  /** Tables this projection owns; emptied before a rebuild replays the stream. */
  readonly tables: readonly string[];
  /**
   * For rows it owns in a table it shares with another projection: deletes them before a rebuild,
   * in the same transaction as the truncation.
   */
  clear?(manager: EntityManager): Promise<void>;
  apply(stored: StoredEvent<E>, manager: EntityManager): Promise<void>;
}

/**
 * Keeps one projection up to date from a durable consumer. Each event is applied and the checkpoint
 * advanced in one Postgres transaction; an event at or below the checkpoint is skipped, so a
 * redelivery never changes the read model twice. On start the consumer resumes from the checkpoint.
 */
export class ProjectionRunner<E extends Message> {
  private consumer?: DurableConsumer<E>;
  /** Deliveries of events already applied (redeliveries), skipped without touching the read model. */
  skippedRedeliveries = 0;

  constructor(
    private readonly store: EventStore<E>,
    private readonly dataSource: DataSource,
    private readonly projection: Projection<E>,
    private readonly logger?: Logger,
    private readonly options: {
      metrics?: Registry;
      maxAttempts?: number;
      backoffMs?: (attempt: number) => number;
      ackWaitMs?: number;
      /**
       * Batch mode, when above 1: the projection reads its events through an ordered consumer from its
       * checkpoint and applies whatever has arrived, up to this many events, in one transaction. See
       * `runOrdered`.
       */
      batchSize?: number;
      /**
       * Called with the events of each committed transaction, at once after the commit and before
       * anybody waiting for them (`waitFor`) is woken: what it publishes on this connection reaches
       * other services before the answer of a command that waited for the read model.
       */
      onCommitted?: (events: readonly StoredEvent<E>[]) => void;
    } = {},
  ) {}

  /** The highest position this process knows to be applied. */
  private applied = 0;
  /** Counts resets (each counts twice: as it begins and once committed); see `reset`. */
  private resets = 0;
  private readonly waiters = new Set<{ position: number; resolve: () => void }>();
  /** Batch mode's reader, while it runs. */
  private ordered?: { messages: ConsumerMessages; done: Promise<void> };
  /** Batch mode: events read and not applied yet, in stream order. */
  private queue: { stored: StoredEvent<E>; m: JsMsg }[] = [];
  private applying = false;
  private drained?: () => void;
  private stopping = false;
  /** Whether the shared checkpoint poll for waiters runs. */
  private polling = false;

  get name(): string {
    return this.projection.name;
  }

  async start(): Promise<void> {
    await this.dataSource.query(
      'INSERT INTO projection_checkpoints (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING',
      [this.name],
    );
    await this.forgetReplacedStream();
    if ((this.options.batchSize ?? 1) > 1) {
      await this.runOrdered();
      return;
    }
    const checkpoint = await this.position();
    const consumer = this.createConsumer();
    // The read model is the truth about what was applied. If the consumer acknowledged further than
    // the checkpoint (the database was restored, or a transaction was lost), replay from the checkpoint.
    const floor = await consumer.ackFloor();
    if (floor !== undefined && floor > checkpoint) {
      this.logger?.warn(
        { projection: this.name, floor, checkpoint },
        'consumer ahead of checkpoint; replaying',
      );
      await consumer.delete();
    }
    await consumer.start();
    this.consumer = consumer;
  }

  /**
   * Positions only mean something in the stream they came from. When the event stream was deleted and
   * created again (a wiped NATS data directory), the read model describes events that no longer exist:
   * it is emptied and rebuilt from the new stream.
   */
  private async forgetReplacedStream(): Promise<void> {
    const created = await this.store.streamCreated();
    const rows: { stream_created: string | null }[] = await this.dataSource.query(
      'SELECT stream_created FROM projection_checkpoints WHERE name = $1',
      [this.name],
    );
    const known = rows[0]?.stream_created;
    if (known && known !== created) {
      this.logger?.warn(
        { projection: this.name, known, created },
        'event stream was replaced; rebuilding the read model',
      );
      await this.createConsumer().delete();
      await this.reset();
    }
    await this.dataSource.query('UPDATE projection_checkpoints SET stream_created = $2 WHERE name = $1', [
      this.name,
      created,
    ]);
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = undefined;
    if (this.ordered) {
      this.stopping = true;
      await this.ordered.messages.close();
      await this.ordered.done;
      while (this.applying) await new Promise((r) => setTimeout(r, 10));
      this.ordered = undefined;
      this.queue = [];
    }
  }

  /** Empties the read model and replays the whole stream into it. */
  async rebuild(): Promise<void> {
    await this.stop();
    await this.createConsumer().delete();
    await this.reset();
    await this.start();
  }

  /** Empties the read model and its checkpoint in one transaction. */
  private async reset(): Promise<void> {
    // A checkpoint read that began before (or during) the reset must not count afterwards: it would
    // tell a waiter that the emptied read model has caught up. Each poll round checks this.
    this.resets++;
    this.applied = 0;
    await this.dataSource.transaction(async (m) => {
      if (this.projection.tables.length > 0) await m.query(`TRUNCATE ${this.projection.tables.join(', ')}`);
      await this.projection.clear?.(m);
      await m.query('UPDATE projection_checkpoints SET position = 0, updated_at = now() WHERE name = $1', [
        this.name,
      ]);
    });
    this.resets++;
    this.applied = 0;
  }

  /** The position of the last event applied. */
  async position(): Promise<number> {
    const rows: { position: string }[] = await this.dataSource.query(
      'SELECT position FROM projection_checkpoints WHERE name = $1',
      [this.name],
    );
    return rows[0] ? Number(rows[0].position) : 0;
  }

  /**
   * Resolves once the projection has applied every event in the stream that it follows (nothing pending
   * or in flight on its consumer), for commands like rebuild that must end caught up.
   */
  async waitUntilCaughtUp(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    if (this.ordered) {
      const last = await this.lastFollowedPosition();
      while ((await this.position()) < last) {
        if (Date.now() > deadline) throw new Error(`${this.name} did not catch up in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return;
    }
    for (;;) {
      const info = await this.store.jsm.consumers
        .info(this.store.subjects.eventStream, this.name)
        .catch(() => undefined);
      if (info && info.num_pending === 0 && info.num_ack_pending === 0) return;
      if (Date.now() > deadline) throw new Error(`${this.name} did not catch up in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Resolves once the projection has applied everything up to `position`. What this process commits
   * wakes the waiters at once. For what another replica applied, one poll shared by every waiter reads
   * the checkpoint while anybody waits: at once when the first one arrives, then every
   * `WAIT_RECHECK_MS`. (A poll per waiter would put a query per waiter on the pool every round, and
   * under load starve the projection the waiters wait for.)
   */
  async waitFor(position: number, timeoutMs = 10_000): Promise<void> {
    if (this.applied >= position) return;
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        position,
        resolve: () => {
          clearTimeout(deadline);
          resolve();
        },
      };
      const deadline = setTimeout(() => {
        this.waiters.delete(waiter);
        // A caller waiting to read its own write: what it wrote is stored, only not readable yet.
        reject(
          new PierError(
            'DEADLINE_EXCEEDED',
            `the change is stored, but ${this.name} has not caught up with it within ${timeoutMs} ms; it will show shortly`,
            { projection: this.name, position },
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
      this.pollForWaiters();
    });
  }

  /** Starts the shared checkpoint poll unless it runs; it ends when nobody waits. */
  private pollForWaiters(): void {
    if (this.polling) return;
    this.polling = true;
    const round = async () => {
      try {
        const resets = this.resets;
        const position = await this.position();
        if (resets === this.resets) this.noteApplied(position);
      } catch (error) {
        this.logger?.warn({ err: error, projection: this.name }, 'could not read the checkpoint for waiters');
      }
      if (this.waiters.size === 0) {
        this.polling = false;
        return;
      }
      setTimeout(() => void round(), WAIT_RECHECK_MS).unref();
    };
    void round();
  }

  /**
   * Locks the checkpoint, moves it to `position` (never back) and answers where it was: one round trip
   * where reading it and writing it took two. In the transaction that applies the events up to
   * `position`, so the move and the events commit together or not at all, and a replica that got the
   * lock second finds the events applied.
   */
  private async advanceCheckpoint(manager: EntityManager, position: number): Promise<number> {
    // TypeORM answers an UPDATE with [rows, affected].
    const [rows] = (await manager.query(
      `WITH previous AS (SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE)
       UPDATE projection_checkpoints c SET position = GREATEST(c.position, $2), updated_at = now()
       FROM previous WHERE c.name = $1 RETURNING previous.position AS previous`,
      [this.name, position],
    )) as [{ previous: string }[], number];
    return rows[0] ? Number(rows[0].previous) : 0;
  }

  private committed(events: readonly StoredEvent<E>[]): void {
    try {
      this.options.onCommitted?.(events);
    } catch (error) {
      this.logger?.error({ err: error, projection: this.name }, 'onCommitted failed');
    }
  }

  /** Records a position known to be applied (committed) and wakes who waited for it. */
  private noteApplied(position: number): void {
    if (position <= this.applied) return;
    this.applied = position;
    for (const waiter of this.waiters) {
      if (waiter.position <= position) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** The projection's consumer; when (re)created on the server it starts after the checkpoint. */
  private createConsumer(): DurableConsumer<E> {
    return new DurableConsumer(this.store, {
      name: this.name,
      filterSubject: this.projection.filterSubject,
      startPosition: async () => (await this.position()) + 1,
      maxAckPending: 1,
      maxAttempts: this.options.maxAttempts,
      ackWaitMs: this.options.ackWaitMs,
      metrics: this.options.metrics,
      backoffMs: this.options.backoffMs,
      logger: this.logger,
      handler: (stored) => this.applyOnce(stored),
      onDeadLetter: (position) => this.skip(position),
      isPoison: isPoisonError,
    });
  }

  private async applyOnce(stored: StoredEvent<E>): Promise<void> {
    const applied = await this.dataSource.transaction(async (m) => {
      const previous = await this.advanceCheckpoint(m, stored.position);
      if (previous >= stored.position) {
        this.skippedRedeliveries++;
        return false;
      }
      await this.projection.apply(stored, m);
      return true;
    });
    if (applied) this.committed([stored]);
    this.noteApplied(stored.position);
  }

  /**
   * Batch mode. An ordered consumer delivers every event the projection follows, in stream order, from
   * the checkpoint on; events that arrive while a batch is being applied form the next batch (so under
   * a light load a batch is one event, and nothing waits for a batch to fill). A batch is applied in one
   * transaction that also moves the checkpoint; events at or below the checkpoint are skipped, so
   * replicas of a service may all run the projection: each sees every event, in order, and whoever
   * commits first applies it. A batch that fails is applied again one event at a time, each retried
   * with back-off and dead-lettered after `maxAttempts`, the ones after it waiting. Nothing is
   * acknowledged: the checkpoint is the position, and a restart reads on from it.
   */
  private async runOrdered(): Promise<void> {
    // The durable consumer of the one-by-one mode, if an earlier version left one, has no use now.
    await this.createConsumer().delete();
    this.stopping = false;
    const consumer = await this.store.js.consumers.get(this.store.subjects.eventStream, {
      filter_subjects: this.projection.filterSubject ?? this.store.subjects.allEvents,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: (await this.position()) + 1,
    });
    const size = this.options.batchSize!;
    const messages = await consumer.consume({ ...CONSUME_OPTIONS, max_messages: size });
    const done = (async () => {
      for await (const m of messages) {
        let stored: StoredEvent<E>;
        try {
          stored = this.store.toStored(m.subject, m.data, m.seq);
        } catch (error) {
          // Unreadable: dead-lettered in its place, once what came before it is applied.
          await this.whenDrained();
          await this.deadLetter(m, error, 1);
          continue;
        }
        this.queue.push({ stored, m });
        this.applyQueued();
        // Back-pressure: reading stops while a few batches wait.
        if (this.queue.length >= size * 4) await this.whenDrained();
      }
    })().catch((error: unknown) =>
      this.logger?.error({ err: error, projection: this.name }, 'projection reader failed'),
    );
    this.ordered = { messages, done };
  }

  private whenDrained(): Promise<void> {
    if (!this.applying && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.drained;
      this.drained = () => {
        previous?.();
        resolve();
      };
    });
  }

  /** Applies queued events batch after batch until none is left; never two at once. */
  private applyQueued(): void {
    if (this.applying) return;
    this.applying = true;
    void (async () => {
      try {
        while (this.queue.length > 0 && !this.stopping) {
          await this.applyBatch(this.queue.splice(0, this.options.batchSize!));
        }
      } finally {
        // Same turn as the loop's last check: an event queued now starts a new round.
        this.applying = false;
        const drained = this.drained;
        this.drained = undefined;
        drained?.();
      }
    })();
  }

  private async applyBatch(batch: { stored: StoredEvent<E>; m: JsMsg }[]): Promise<void> {
    try {
      await this.applyInOne(batch);
      this.count('acked', batch.length);
      return;
    } catch (error) {
      if (batch.length === 1) return this.applyAlone(batch[0]!, error);
      this.logger?.warn(
        { err: error, projection: this.name, from: batch[0]!.stored.position, events: batch.length },
        'projection batch failed; applying its events one by one',
      );
    }
    for (const item of batch) {
      if (this.stopping) return;
      await this.applyAlone(item);
    }
  }

  /**
   * One event in its own transaction, retried with back-off, dead-lettered after the last attempt — or
   * at once, parked, when the read model refused its data: that will not pass on a retry, and every
   * event behind it (every tenant's) would wait for nothing.
   */
  private async applyAlone(item: { stored: StoredEvent<E>; m: JsMsg }, failed?: unknown): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    let attempt = failed === undefined ? 0 : 1;
    let error = failed;
    for (;;) {
      if (attempt > 0) {
        if (attempt >= maxAttempts || isPoisonError(error)) {
          await this.deadLetter(item.m, error, attempt);
          return;
        }
        this.logger?.warn(
          { err: error, projection: this.name, position: item.stored.position, attempt },
          'projection failed to apply an event; will retry',
        );
        this.count('retried', 1);
        await new Promise((r) => setTimeout(r, (this.options.backoffMs ?? defaultBackoff)(attempt)));
        if (this.stopping) return;
      }
      attempt++;
      try {
        await this.applyInOne([item]);
        this.count('acked', 1);
        return;
      } catch (caught) {
        error = caught;
      }
    }
  }

  /** Applies events in order and moves the checkpoint past the last one, all in one transaction. */
  private async applyInOne(batch: readonly { stored: StoredEvent<E>; m: JsMsg }[]): Promise<void> {
    await this.dataSource
      .transaction(async (manager) => {
        const checkpoint = await this.advanceCheckpoint(manager, batch[batch.length - 1]!.stored.position);
        let last = checkpoint;
        const applied: StoredEvent<E>[] = [];
        for (const { stored, m } of batch) {
          if (stored.position <= last) {
            this.skippedRedeliveries++;
            continue;
          }
          await inConsumerSpan(this.name, m, stored, {}, () => this.projection.apply(stored, manager));
          last = stored.position;
          applied.push(stored);
        }
        return { last, applied };
      })
      .then(({ last, applied }) => {
        if (applied.length > 0) this.committed(applied);
        this.noteApplied(last);
      });
  }

  private async deadLetter(m: JsMsg, error: unknown, attempts: number): Promise<void> {
    // Retried until it is recorded: skipping an event that is nowhere to be found would lose it.
    for (let attempt = 1; ; attempt++) {
      try {
        const reason = await publishDeadLetter(this.store, this.name, m, error, attempts);
        this.logger?.error({ consumer: this.name, position: m.seq, attempts, reason }, 'event dead-lettered');
        break;
      } catch (publishError) {
        if (this.stopping) return;
        this.logger?.warn({ err: publishError, projection: this.name }, 'dead-lettering failed; retrying');
        await new Promise((r) => setTimeout(r, defaultBackoff(attempt)));
      }
    }
    await this.skip(m.seq);
    this.count('dead_lettered', 1);
  }

  private count(outcome: 'acked' | 'retried' | 'dead_lettered', n: number): void {
    if (!this.options.metrics) return;
    consumerMessagesCounter(this.options.metrics).inc({ consumer: this.name, outcome }, n);
  }

  /** Position of the last event the projection follows that the stream holds now. */
  private async lastFollowedPosition(): Promise<number> {
    const info = await this.store.jsm.streams.info(this.store.subjects.eventStream, {
      subjects_filter: this.projection.filterSubject ?? this.store.subjects.allEvents,
    });
    let last = 0;
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const message = await this.store.jsm.streams.getMessage(this.store.subjects.eventStream, {
        last_by_subj: subject,
      });
      last = Math.max(last, message?.seq ?? 0);
    }
    return last;
  }

  /** A dead-lettered event is skipped for good: the checkpoint moves past it. */
  private async skip(position: number): Promise<void> {
    await this.dataSource.query(
      'UPDATE projection_checkpoints SET position = GREATEST(position, $2), updated_at = now() WHERE name = $1',
      [this.name, position],
    );
    this.noteApplied(position);
  }
}
