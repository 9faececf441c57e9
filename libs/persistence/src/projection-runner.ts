import { type Message } from '@pier/contracts';
import { DurableConsumer, type EventStore, type StoredEvent } from '@pier/eventstore';
import { type Logger, type Registry } from '@pier/observability';
import { type DataSource, type EntityManager } from 'typeorm';

/** A read model built from events. `apply` runs inside the transaction that also moves the checkpoint. */
export interface Projection<E extends Message> {
  /** Unique per service; also the durable consumer's name. */
  readonly name: string;
  readonly filterSubject?: string;
  /** Tables this projection owns; emptied before a rebuild replays the stream. */
  readonly tables: readonly string[];
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
    } = {},
  ) {}

  get name(): string {
    return this.projection.name;
  }

  async start(): Promise<void> {
    await this.dataSource.query(
      'INSERT INTO projection_checkpoints (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING',
      [this.name],
    );
    await this.forgetReplacedStream();
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
    await this.dataSource.transaction(async (m) => {
      if (this.projection.tables.length > 0) await m.query(`TRUNCATE ${this.projection.tables.join(', ')}`);
      await m.query('UPDATE projection_checkpoints SET position = 0, updated_at = now() WHERE name = $1', [
        this.name,
      ]);
    });
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
    for (;;) {
      const info = await this.store.jsm.consumers
        .info(this.store.subjects.eventStream, this.name)
        .catch(() => undefined);
      if (info && info.num_pending === 0 && info.num_ack_pending === 0) return;
      if (Date.now() > deadline) throw new Error(`${this.name} did not catch up in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Resolves once the projection has applied everything up to `position`. */
  async waitFor(position: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.position()) < position) {
      if (Date.now() > deadline)
        throw new Error(`${this.name} did not reach position ${position} in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
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
    });
  }

  private async applyOnce(stored: StoredEvent<E>): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const rows: { position: string }[] = await m.query(
        'SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE',
        [this.name],
      );
      if (rows[0] && Number(rows[0].position) >= stored.position) {
        this.skippedRedeliveries++;
        return;
      }
      await this.projection.apply(stored, m);
      await m.query('UPDATE projection_checkpoints SET position = $2, updated_at = now() WHERE name = $1', [
        this.name,
        stored.position,
      ]);
    });
  }

  /** A dead-lettered event is skipped for good: the checkpoint moves past it. */
  private async skip(position: number): Promise<void> {
    await this.dataSource.query(
      'UPDATE projection_checkpoints SET position = GREATEST(position, $2), updated_at = now() WHERE name = $1',
      [this.name, position],
    );
  }
}
