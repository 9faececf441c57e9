import { type Logger } from '@pier/observability';
import { type Reconciler } from './reconciler';

/** Who may write plans: exactly one scheduler replica at a time. */
export interface Leadership {
  /** Tries to become (or stay) the leader; true when this replica leads. */
  acquire(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * Runs the reconciler while this replica leads: on every change of the world (debounced) and on a
 * timer, never two passes at once.
 */
export class SchedulerLoop {
  private timer?: NodeJS.Timeout;
  private running = false;
  private again = false;
  private leading = false;
  private stopped = false;

  constructor(
    private readonly reconciler: Reconciler,
    private readonly leadership: Leadership,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), this.intervalMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    while (this.running) await new Promise((r) => setTimeout(r, 20));
    await this.leadership.release();
  }

  /** Asks for a pass soon; passes never overlap, a request during a pass runs one more. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.pass()
      .catch((error: unknown) => this.logger.error({ err: error }, 'scheduler pass failed'))
      .finally(() => {
        this.running = false;
        if (this.again && !this.stopped) {
          this.again = false;
          setImmediate(() => this.kick());
        }
      });
  }

  private async pass(): Promise<void> {
    const leading = await this.leadership.acquire();
    if (leading !== this.leading)
      this.logger.info({ leading }, leading ? 'scheduler leads' : 'scheduler stands by');
    this.leading = leading;
    if (!leading) return;
    if ((await this.reconciler.tick()) > 0) this.again = true;
  }
}
