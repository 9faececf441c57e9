/** How long one teardown keeps the others waiting at most: past it, a slow stop (an app using its grace period) overlaps the next. */
export const TEARDOWN_HOLD_MS = 2000;

/**
 * Lets the engine tear containers down a few at a time. A stop or removal costs the host a burst of
 * CPU outside any container (runc, the shim, the engine's network and NAT teardown, the cgroup and the
 * layer): four at once saturated both cores of a small node for a few hundred milliseconds, and every
 * app on it (any tenant's) answered 3–5 times slower meanwhile. Paced, the same work is spread out.
 *
 * Each call waits for one of `concurrency` slots and keeps it until it settles or `holdMs` passed,
 * whichever comes first; a `concurrency` of 0 does not pace.
 */
export class TeardownPacer {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly holdMs = TEARDOWN_HOLD_MS,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.concurrency === 0) return work();
    if (this.running >= this.concurrency) await new Promise<void>((r) => this.waiting.push(r));
    else this.running++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      const next = this.waiting.shift();
      if (next)
        next(); // the slot passes on
      else this.running--;
    };
    const timer = setTimeout(release, this.holdMs);
    try {
      return await work();
    } finally {
      release();
    }
  }
}
