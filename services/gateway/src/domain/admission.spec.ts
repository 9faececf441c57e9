import { type Admitted, AdmissionLimiter, type AdmissionOptions, type Refused } from './admission';

const options: AdmissionOptions = {
  initialLimit: 4,
  minLimit: 2,
  maxLimit: 8,
  latencyTargetMs: 100,
  maxQueue: 2,
  maxQueueWaitMs: 25,
};

function admitNow(limiter: AdmissionLimiter): Admitted {
  const admission = limiter.acquire();
  if (admission instanceof Promise || !admission.admitted) throw new Error('expected an admission at once');
  return admission;
}

describe('admission limiter', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('admits up to the limit at once, queues a bounded few and refuses the rest at once', async () => {
    const limiter = new AdmissionLimiter(options);
    const running = Array.from({ length: 4 }, () => admitNow(limiter));
    const queued = [limiter.acquire(), limiter.acquire()];
    expect(queued.every((q) => q instanceof Promise)).toBe(true);
    expect(limiter.acquire()).toEqual({ admitted: false, reason: 'queue-full' });
    expect([limiter.active, limiter.waiting]).toEqual([4, 2]);
    running[0]!.release(10);
    await expect(queued[0]).resolves.toMatchObject({ admitted: true });
    expect([limiter.active, limiter.waiting]).toEqual([4, 1]);
  });

  it('refuses a queued call whose wait runs out', async () => {
    const limiter = new AdmissionLimiter(options);
    for (let i = 0; i < 4; i++) admitNow(limiter);
    const queued = limiter.acquire() as Promise<Admitted | Refused>;
    jest.advanceTimersByTime(25);
    await expect(queued).resolves.toEqual({ admitted: false, reason: 'queue-wait' });
    expect(limiter.waiting).toBe(0);
  });

  it('admits queued calls in order, never past the limit', async () => {
    const limiter = new AdmissionLimiter(options);
    const running = Array.from({ length: 4 }, () => admitNow(limiter));
    const order: string[] = [];
    const first = (limiter.acquire() as Promise<Admitted>).then(() => order.push('first'));
    const second = (limiter.acquire() as Promise<Admitted>).then(() => order.push('second'));
    running[0]!.release(10);
    running[1]!.release(10);
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    expect(limiter.active).toBe(4);
  });

  it('cuts the limit when answers are slower than the target, once per target period', () => {
    let now = 0;
    const limiter = new AdmissionLimiter({ ...options, initialLimit: 8 }, () => now);
    const running = Array.from({ length: 8 }, () => admitNow(limiter));
    void limiter.acquire(); // held back: the limit is what holds calls now
    running[0]!.release(500);
    expect(limiter.limit).toBe(6); // 8 × 0.8
    running[1]!.release(500); // started before the cut: does not cut again
    expect(limiter.limit).toBe(6);
    now = 150;
    running[2]!.release(500);
    expect(limiter.limit).toBe(5); // 6.4 × 0.8
    for (const r of running.slice(3)) {
      now += 150;
      void limiter.acquire();
      r.release(500);
    }
    expect(limiter.limit).toBe(2); // never below the minimum
  });

  it('grows the limit by about one per limit of fast answers, only while it holds calls back', () => {
    const limiter = new AdmissionLimiter(options, () => 0);
    // Never more than two at once: the limit of 4 holds nothing back, and stays.
    for (let i = 0; i < 50; i++) {
      const a = admitNow(limiter);
      const b = admitNow(limiter);
      a.release(5);
      b.release(5);
    }
    expect(limiter.limit).toBe(4);
    // More calls than slots: each round of fast answers lifts it by about one.
    const round = () => {
      const all = Array.from({ length: limiter.limit }, () => admitNow(limiter));
      expect(limiter.acquire()).toBeInstanceOf(Promise); // held back
      jest.advanceTimersByTime(25); // and refused: the round ends with an empty queue
      for (const a of all) a.release(5);
    };
    for (let i = 0; i < 3; i++) round();
    expect(limiter.limit).toBe(6); // 4 → 4.9 → 5.7 → 6.6
    for (let i = 0; i < 10; i++) round();
    expect(limiter.limit).toBe(8); // never above the maximum
  });

  it('stops growing the limit a target period after the last call it held back', () => {
    let now = 0;
    const limiter = new AdmissionLimiter(options, () => now);
    const all = Array.from({ length: 4 }, () => admitNow(limiter));
    expect(limiter.acquire()).toBeInstanceOf(Promise);
    jest.advanceTimersByTime(25);
    now = 100;
    for (const a of all) a.release(5);
    expect(limiter.limit).toBe(4);
  });

  it('does not cut the limit for slow answers while it holds nothing back', () => {
    let now = 0;
    const limiter = new AdmissionLimiter(options, () => now);
    for (let i = 0; i < 5; i++) {
      now += 150;
      admitNow(limiter).release(900);
    }
    expect(limiter.limit).toBe(4);
  });

  it('shrinks the limit when the process is congested, only while it holds calls back', () => {
    let now = 0;
    const limiter = new AdmissionLimiter({ ...options, initialLimit: 8 }, () => now);
    limiter.congested(250);
    expect(limiter.limit).toBe(8); // nothing held back
    for (let i = 0; i < 8; i++) admitNow(limiter);
    void limiter.acquire();
    jest.advanceTimersByTime(25); // refused
    now = 200;
    limiter.congested(250); // held one back within the period
    expect(limiter.limit).toBe(6);
    limiter.congested(250); // once per target period
    expect(limiter.limit).toBe(6);
    now = 400;
    limiter.congested(250); // nothing held back since 0
    expect(limiter.limit).toBe(6);
    limiter.congested(500);
    expect(limiter.limit).toBe(5);
  });

  it('releases a call once however often it is told', () => {
    const limiter = new AdmissionLimiter(options);
    const a = admitNow(limiter);
    admitNow(limiter);
    a.release(5);
    a.release(5);
    expect(limiter.active).toBe(1);
  });
});
