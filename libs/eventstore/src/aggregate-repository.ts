import { type Message, PierError } from '@pier/contracts';
import { type EventStore } from './event-store';

/** An aggregate as loaded: its state and the version to append at. */
export interface Loaded<S> {
  readonly state: S | null;
  readonly version: number;
}

/** Event-sourced storage of one aggregate type (the port use cases depend on). */
export interface AggregateRepository<S, E> {
  load(id: string): Promise<Loaded<S>>;
  /** Appends at `expectedVersion`; throws `CONCURRENCY_CONFLICT` if another write came first. */
  append(id: string, events: readonly E[], expectedVersion: number): Promise<number>;
}

/** An aggregate repository over the JetStream event store: state is folded from the aggregate's subject. */
export class EventSourcedRepository<
  S,
  E extends M,
  M extends Message = Message,
> implements AggregateRepository<S, E> {
  constructor(
    private readonly store: EventStore<M>,
    private readonly aggregateType: string,
    private readonly evolve: (state: S | null, event: E) => S | null,
  ) {}

  async load(id: string): Promise<Loaded<S>> {
    const { events, version } = await this.store.load(this.aggregateType, id);
    return { state: events.reduce<S | null>((s, e) => this.evolve(s, e.event as E), null), version };
  }

  async append(id: string, events: readonly E[], expectedVersion: number): Promise<number> {
    return (await this.store.append(this.aggregateType, id, events, expectedVersion)).version;
  }
}

/**
 * Load, decide, append — retried from a fresh load when another writer got in between. Decisions are
 * pure, so re-deciding on newer state is always safe.
 */
export async function execute<S, E>(
  repository: AggregateRepository<S, E>,
  id: string,
  decide: (state: S | null) => readonly E[],
  evolve: (state: S | null, event: E) => S | null,
  attempts = 5,
): Promise<{ state: S | null; version: number; events: readonly E[] }> {
  for (let attempt = 1; ; attempt++) {
    const { state, version } = await repository.load(id);
    const events = decide(state);
    if (events.length === 0) return { state, version, events };
    try {
      const newVersion = await repository.append(id, events, version);
      return { state: events.reduce(evolve, state), version: newVersion, events };
    } catch (error) {
      if (!(error instanceof PierError && error.code === 'CONCURRENCY_CONFLICT') || attempt >= attempts)
        throw error;
    }
  }
}
