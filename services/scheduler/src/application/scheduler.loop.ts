import { type Logger } from '@pier/observability';
import { type Reconciler } from './reconciler';
import { LeaseLostError, type SchedulerLease } from './scheduler-lease';

/** Who may try to take the scheduler lease: a cheap election among the replicas. */
export interface Leadership {
  /**
   * Tries to win (or keep) the election; true while this replica has it. Winning does not make a
   * replica's writes safe: the lease does (ADR 0007).
   */
  acquire(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * Runs the reconciler while this replica leads: on every change of the world (debounced) and on a
 * timer, never two passes at once. Leading takes the election and then the lease; a lost lease, a
 * lost election or a lost connection to the event store makes the replica stand down at once.
 */
export class SchedulerLoop {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private leading = false;
  private stopped = false;
  /** Cut off from the event store: no election, no pass, until `resume`. */
  private suspended = false;

  constructor(
    private readonly reconciler: Reconciler,
    private readonly leadership: Leadership,
    private readonly lease: SchedulerLease,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Whether this replica currently leads (holds both the election and the lease). */
  get isLeading(): boolean {
    return this.leading;
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.intervalMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.idle();
    this.lease.drop();
    await this.leadership.release();
  }

  /**
   * The connection to the event store is lost: stand down now, without waiting for a pass in flight
   * (whatever it still sends is fenced by the lease), and let another replica lead meanwhile.
   */
  suspend(reason: string): void {
    if (this.suspended) return;
    this.suspended = true;
    void this.standDown(reason);
  }

  /** The connection is back: stand for election again. */
  resume(): void {
    this.suspended = false;
    this.kick();
  }

  /** Asks for a pass soon; passes never overlap, a request during a pass runs one more. */
  kick(): void {
    if (this.stopped || this.suspended) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch((error: unknown) => this.logger.error({ err: error }, 'scheduler pass failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          setImmediate(() => this.kick());
        }
      });
  }

  /** Resolves once no pass is running (the one in flight, and any it asked to follow). */
  async idle(): Promise<void> {
    while (this.running) {
      await this.running;
      await new Promise((r) => setImmediate(r));
    }
  }

  private async pass(): Promise<void> {
    let elected: boolean;
    try {
      elected = await this.leadership.acquire();
    } catch (error) {
      // The election cannot be asked (Postgres unreachable): whoever can ask it may lead meanwhile.
      if (this.leading) await this.standDown('election unavailable');
      throw error;
    }
    if (!elected) {
      if (this.leading) await this.standDown('election lost');
      return;
    }
    if (this.suspended) return; // cut off while the election was asked: `suspend` stands down
    try {
      if (!this.lease.held) {
        // Everything recorded under earlier terms lies before the take: plan only once it is folded in.
        this.reconciler.expectPosition(await this.lease.take());
        if (this.suspended) return void (await this.standDown('suspended while taking the lease'));
        this.leading = true;
        this.logger.info({ holder: this.lease.holder }, 'scheduler leads');
      }
      if ((await this.reconciler.tick()) > 0) this.again = true;
    } catch (error) {
      if (!(error instanceof LeaseLostError)) throw error;
      await this.standDown('lease lost: another replica took it');
    }
  }

  private async standDown(reason: string): Promise<void> {
    this.lease.drop();
    if (this.leading) this.logger.warn({ reason, holder: this.lease.holder }, 'scheduler stands down');
    this.leading = false;
    await this.leadership.release();
  }
}
