import { TeardownPacer } from './teardown-pacer';

/** A teardown that takes `ms` and records how many ran at once. */
function recorder() {
  let now = 0;
  let most = 0;
  const order: string[] = [];
  const work = (name: string, ms: number) => async () => {
    now++;
    most = Math.max(most, now);
    order.push(`start ${name}`);
    await new Promise((r) => setTimeout(r, ms));
    order.push(`end ${name}`);
    now--;
    return name;
  };
  return { work, order, most: () => most };
}

describe('TeardownPacer', () => {
  it('runs teardowns one at a time, in the order asked, each with its own result', async () => {
    const pacer = new TeardownPacer(1);
    const r = recorder();
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((n) => pacer.run(r.work(n, 20))));
    expect(results).toEqual(['a', 'b', 'c', 'd']);
    expect(r.most()).toBe(1);
    expect(r.order).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c', 'start d', 'end d']);
  });

  it('runs as many at once as its concurrency, and all at once with 0', async () => {
    const two = recorder();
    const pacer = new TeardownPacer(2);
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => pacer.run(two.work(n, 10))));
    expect(two.most()).toBe(2);
    const unpaced = recorder();
    const none = new TeardownPacer(0);
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => none.run(unpaced.work(n, 10))));
    expect(unpaced.most()).toBe(5);
  });

  it('lets the next one start once a slow one has held its slot for the hold time', async () => {
    const pacer = new TeardownPacer(1, 50);
    const r = recorder();
    const started = performance.now();
    const slow = pacer.run(r.work('slow', 400));
    const next = pacer.run(r.work('next', 10)).then(() => performance.now() - started);
    expect(await next).toBeLessThan(300);
    await slow;
    expect(r.order.slice(0, 3)).toEqual(['start slow', 'start next', 'end next']);
  });

  it('passes its slot on when a teardown fails', async () => {
    const pacer = new TeardownPacer(1);
    const failing = pacer.run(async () => {
      throw new Error('engine said no');
    });
    await expect(failing).rejects.toThrow('engine said no');
    expect(await pacer.run(async () => 'after')).toBe('after');
    await expect(
      Promise.race([pacer.run(async () => 'free'), new Promise((r) => setTimeout(r, 100))]),
    ).resolves.toBe('free');
  });
});
