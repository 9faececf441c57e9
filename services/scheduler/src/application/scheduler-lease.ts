import { randomUUID } from 'node:crypto';
import {
  createMessage,
  type PierEvent,
  PierError,
  type RecordedAction,
  SCHEDULER_LEASE,
  SchedulerLeaseTaken,
  SchedulerPlanRecorded,
  systemActor,
} from '@pier/contracts';
import { type EventStore } from '@pier/eventstore';

/**
 * At most this many actions, and about this many bytes of them, in one journal entry (a big plan is
 * recorded as several, in order, each a round trip after the one before).
 */
const ACTIONS_PER_ENTRY = 1000;
const BYTES_PER_ENTRY = 256 * 1024;

/** This replica no longer holds the scheduler lease: another one took it since. */
export class LeaseLostError extends Error {
  constructor(readonly holder: string) {
    super(`scheduler lease lost by ${holder}: another replica took it`);
    this.name = 'LeaseLostError';
  }
}

/**
 * The fence of the scheduler's single writer (ADR 0007): one subject of the event store per scheduler
 * group. Taking the lease appends `SchedulerLeaseTaken` at the subject's current version; every plan is
 * then recorded there (`SchedulerPlanRecorded`) at the version this replica's last append left, before
 * any of it is applied. The store refuses an append at a version that is no longer the subject's last,
 * so once another replica has taken the lease, this one cannot record a single decision more, whatever
 * it believes about its election.
 */
export class SchedulerLease {
  /** The fencing token: the lease subject's version as this replica's last append left it. */
  private token?: number;
  private term = 0;
  /** Bumped by every take and drop, so an append that returns after a drop does not revive the token. */
  private generation = 0;

  constructor(
    private readonly store: EventStore<PierEvent>,
    private readonly group: string,
    readonly holder: string,
  ) {}

  get held(): boolean {
    return this.token !== undefined;
  }

  /**
   * Takes the lease from whoever held it; returns the position of the take, which the caller's world
   * must have folded before it plans (everything recorded under earlier terms comes before it).
   * Throws `LeaseLostError` when another replica appended to the lease at the same moment.
   */
  async take(): Promise<number> {
    const last = await this.store.lastEvent(SCHEDULER_LEASE, this.group);
    const e = last?.event;
    const previous =
      e?.type === 'SchedulerLeaseTaken' || e?.type === 'SchedulerPlanRecorded' ? e.data.term : 0;
    const term = previous + 1;
    const event = createMessage(SchedulerLeaseTaken, { holder: this.holder, term }, this.cause(), now());
    const generation = ++this.generation;
    const token = await this.append(event, last?.position ?? 0);
    if (generation === this.generation) {
      this.token = token;
      this.term = term;
    }
    return token;
  }

  /**
   * Records a plan under the lease; returns the position of the last entry. Throws `LeaseLostError`
   * (and holds the lease no more) when another replica has taken it since.
   */
  async record(actions: readonly RecordedAction[]): Promise<number> {
    if (this.token === undefined) throw new LeaseLostError(this.holder);
    const generation = this.generation;
    let token = this.token;
    const cause = this.cause();
    for (const [index, entryActions] of entries(actions).entries()) {
      const entry = createMessage(
        SchedulerPlanRecorded,
        { holder: this.holder, term: this.term, actions: entryActions },
        cause,
        now(),
        index,
      );
      token = await this.append(entry, token);
      // Dropped meanwhile (stepping down): what is recorded stands, but nothing more is.
      if (generation !== this.generation) throw new LeaseLostError(this.holder);
      this.token = token;
    }
    return token;
  }

  /** Forgets the token: the next `record` fails until the lease is taken again. */
  drop(): void {
    this.token = undefined;
    this.generation++;
  }

  private async append(event: PierEvent, expected: number): Promise<number> {
    try {
      return (await this.store.append(SCHEDULER_LEASE, this.group, [event], expected)).version;
    } catch (error) {
      if (error instanceof PierError && error.code === 'CONCURRENCY_CONFLICT') {
        this.drop();
        throw new LeaseLostError(this.holder);
      }
      throw error;
    }
  }

  private cause() {
    const id = randomUUID();
    return { messageId: id, correlationId: id, actor: systemActor('scheduler') };
  }
}

const now = () => new Date().toISOString();

/** A plan's actions split into journal entries of bounded count and size, in order. */
function entries(actions: readonly RecordedAction[]): RecordedAction[][] {
  const out: RecordedAction[][] = [];
  let current: RecordedAction[] = [];
  let bytes = 0;
  for (const action of actions) {
    const size = JSON.stringify(action).length;
    if (current.length > 0 && (current.length >= ACTIONS_PER_ENTRY || bytes + size > BYTES_PER_ENTRY)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(action);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
