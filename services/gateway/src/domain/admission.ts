/**
 * Admission control for one class of API calls (the gateway keeps one for reads and one for writes): at
 * most `limit` calls are carried out at once; a call beyond it waits in a short bounded queue, and is
 * refused when the queue is full or its wait runs out. So an overload is answered at once, with a clear
 * refusal, instead of every call queueing in the services until the deadline.
 *
 * The limit adapts to the latency the services give (additive increase, multiplicative decrease, as TCP
 * does with its window), only while it holds calls back (a call waited or was refused within the last
 * target period): then a call that took longer than `latencyTargetMs` shrinks it — once per target
 * period, since the calls already under way started before the cut and answer as slowly — and calls
 * within the target grow it by one per limit's worth of completions. Unpressed, it stays: it does not
 * grow without bound on an idle gateway, nor shrink on a machine that is slow for other reasons. The limit settles where the services
 * answer within the target: throughput stays at what they sustain, and the rest is refused.
 */
export interface AdmissionOptions {
  readonly initialLimit: number;
  readonly minLimit: number;
  readonly maxLimit: number;
  /** A completion slower than this means the services are past what they sustain. */
  readonly latencyTargetMs: number;
  /** Calls that may wait for a slot; more are refused at once. */
  readonly maxQueue: number;
  /** How long a call may wait for a slot before it is refused. */
  readonly maxQueueWaitMs: number;
}

/** A call let through: `release` once it has been answered. */
export interface Admitted {
  readonly admitted: true;
  /** The call has been answered; `latencyMs` is how long it took since it was admitted. */
  release(latencyMs: number): void;
}

export interface Refused {
  readonly admitted: false;
  readonly reason: 'queue-full' | 'queue-wait';
}

interface Waiter {
  readonly resolve: (admission: Admitted | Refused) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

const DECREASE = 0.8;

export class AdmissionLimiter {
  private currentLimit: number;
  private inFlight = 0;
  private readonly queue: Waiter[] = [];
  private lastDecrease = -Infinity;
  /** When a call last had to wait or was refused. */
  private lastPressed = -Infinity;

  constructor(
    private readonly options: AdmissionOptions,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (options.minLimit < 1 || options.minLimit > options.maxLimit) {
      throw new Error('admission: minLimit must be between 1 and maxLimit');
    }
    this.currentLimit = Math.min(options.maxLimit, Math.max(options.minLimit, options.initialLimit));
  }

  /** Calls carried out at once at most (whole). */
  get limit(): number {
    return Math.floor(this.currentLimit);
  }

  get active(): number {
    return this.inFlight;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Admits a call now, after a wait in the queue, or refuses it; never waits longer than the queue's bound. */
  acquire(): Admitted | Refused | Promise<Admitted | Refused> {
    if (this.inFlight < this.limit && this.queue.length === 0) return this.admit();
    this.lastPressed = this.now();
    if (this.queue.length >= this.options.maxQueue) return { admitted: false, reason: 'queue-full' };
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          const at = this.queue.indexOf(waiter);
          if (at >= 0) this.queue.splice(at, 1);
          resolve({ admitted: false, reason: 'queue-wait' });
        }, this.options.maxQueueWaitMs),
      };
      this.queue.push(waiter);
    });
  }

  private admit(): Admitted {
    this.inFlight++;
    let released = false;
    return {
      admitted: true,
      release: (latencyMs) => {
        if (released) return;
        released = true;
        this.inFlight--;
        this.adapt(latencyMs);
        this.drain();
      },
    };
  }

  /**
   * The process itself is congested (its event loop ran late over the last `periodMs`): shrinks the
   * limit as a slow answer does, if it held a call back within that period, so that refusals, and
   * everything else the process does, stay prompt.
   */
  congested(periodMs: number): void {
    this.cut(this.now(), periodMs);
  }

  private pressed(at: number, withinMs = this.options.latencyTargetMs): boolean {
    return this.queue.length > 0 || at - this.lastPressed < withinMs;
  }

  private adapt(latencyMs: number): void {
    const at = this.now();
    if (latencyMs > this.options.latencyTargetMs) this.cut(at);
    else if (this.pressed(at))
      this.currentLimit = Math.min(this.options.maxLimit, this.currentLimit + 1 / this.currentLimit);
  }

  private cut(at: number, pressedWithinMs?: number): void {
    // Slowness while nothing is held back is not caused by the calls let through at once: a lower limit
    // would not cure it (and a machine slow for other reasons would wear it down to nothing).
    if (!this.pressed(at, pressedWithinMs) || at - this.lastDecrease < this.options.latencyTargetMs) return;
    this.lastDecrease = at;
    this.currentLimit = Math.max(this.options.minLimit, this.currentLimit * DECREASE);
  }

  private drain(): void {
    while (this.queue.length > 0 && this.inFlight < this.limit) {
      const waiter = this.queue.shift()!;
      clearTimeout(waiter.timer);
      waiter.resolve(this.admit());
    }
  }
}
