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
  /** Told the state an append of the caller's led to, for a repository that keeps states. */
  remember?(id: string, loaded: Loaded<S>): void;
  /**
   * The state kept from this replica's last load or append, without asking the store whether it is
   * still the latest: what `execute` decides on first, since an append at its version proves it was.
   */
  kept?(id: string): Loaded<S> | undefined;
}

/**
 * An aggregate repository over the JetStream event store: state is folded from the aggregate's subject.
 * With `cacheSize`, it keeps the states it folded (least recently used dropped first) and a load reads
 * only the events stored since, so an aggregate with a long history (a cluster and every join) costs
 * one round trip to load when nothing changed. Only for aggregates whose `evolve` never mutates the
 * state it is given.
 */
export class EventSourcedRepository<
  S,
  E extends M,
  M extends Message = Message,
> implements AggregateRepository<S, E> {
  private readonly cache = new Map<string, Loaded<S>>();

  constructor(
    private readonly store: EventStore<M>,
    private readonly aggregateType: string,
    private readonly evolve: (state: S | null, event: E) => S | null,
    private readonly options: { cacheSize?: number } = {},
  ) {}

  async load(id: string): Promise<Loaded<S>> {
    const cached = this.cache.get(id);
    const { events, version } = await this.store.load(this.aggregateType, id, cached?.version ?? 0);
    if (cached && version < cached.version) {
      // The stream is behind what was cached (it was replaced): fold it all again.
      this.cache.delete(id);
      return this.load(id);
    }
    const state = events.reduce<S | null>((s, e) => this.evolve(s, e.event as E), cached?.state ?? null);
    const loaded = { state, version };
    this.remember(id, loaded);
    return loaded;
  }

  async append(id: string, events: readonly E[], expectedVersion: number): Promise<number> {
    return (await this.store.append(this.aggregateType, id, events, expectedVersion)).version;
  }

  kept(id: string): Loaded<S> | undefined {
    return this.cache.get(id);
  }

  remember(id: string, loaded: Loaded<S>): void {
    const size = this.options.cacheSize ?? 0;
    if (size <= 0) return;
    this.cache.delete(id);
    this.cache.set(id, loaded);
    if (this.cache.size > size) this.cache.delete(this.cache.keys().next().value!);
  }
}

/**
 * Load, decide, append — retried from a fresh load when another writer got in between. Decisions are
 * pure, so re-deciding on newer state is always safe.
 *
 * A repository that keeps states (`kept`) is not asked first: the decision is made on the kept state and
 * appended at its version, which the store accepts only if no event came since — so a successful append
 * proves the kept state was the latest, and one round trip is saved. Anything else decided on it (no
 * events, a refusal, a conflict) may come from a stale state and is decided again on a fresh load.
 */
export async function execute<S, E>(
  repository: AggregateRepository<S, E>,
  id: string,
  decide: (state: S | null) => readonly E[],
  evolve: (state: S | null, event: E) => S | null,
  attempts = 5,
): Promise<{ state: S | null; version: number; events: readonly E[] }> {
  const kept = repository.kept?.(id);
  if (kept) {
    let events: readonly E[] = [];
    try {
      events = decide(kept.state);
    } catch {
      // Decided again below, on the latest state: that decision's refusal is the one to report.
    }
    if (events.length > 0) {
      try {
        return await appendAt(repository, id, kept, events, evolve);
      } catch (error) {
        if (!(error instanceof PierError && error.code === 'CONCURRENCY_CONFLICT')) throw error;
      }
    }
  }
  for (let attempt = 1; ; attempt++) {
    const { state, version } = await repository.load(id);
    const events = decide(state);
    if (events.length === 0) return { state, version, events };
    try {
      return await appendAt(repository, id, { state, version }, events, evolve);
    } catch (error) {
      if (!(error instanceof PierError && error.code === 'CONCURRENCY_CONFLICT') || attempt >= attempts)
        throw error;
    }
  }
}

/** Appends `events` at `loaded`'s version and remembers the state they lead to. */
async function appendAt<S, E>(
  repository: AggregateRepository<S, E>,
  id: string,
  loaded: Loaded<S>,
  events: readonly E[],
  evolve: (state: S | null, event: E) => S | null,
): Promise<{ state: S | null; version: number; events: readonly E[] }> {
  const version = await repository.append(id, events, loaded.version);
  // Appended at that version, each event after the one before: no other event of the aggregate between.
  const state = events.reduce(evolve, loaded.state);
  repository.remember?.(id, { state, version });
  return { state, version, events };
}
