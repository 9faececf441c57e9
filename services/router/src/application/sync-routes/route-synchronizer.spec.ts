import { type PierEvent } from '@pier/contracts';
import { createLogger } from '@pier/observability';
import { runtime } from '../../../test/support/runtime-events';
import { inRotation, type RouteTable } from '../../domain/route-table';
import { type DataPlane, type DataPlaneStatus, type RuntimeEventFeed } from '../ports';
import { RouteSynchronizer } from './route-synchronizer';

const I1 = '40000000-0000-4000-8000-000000000001';

/** A feed that delivers a fixed history on `follow`, then whatever the test pushes. */
class FakeFeed implements RuntimeEventFeed {
  private listener?: (event: PierEvent, position: number) => void;
  position = 0;
  stopped = false;
  constructor(private readonly history: PierEvent[]) {}

  async follow(onEvent: (event: PierEvent, position: number) => void) {
    this.listener = onEvent;
    for (const e of this.history) onEvent(e, ++this.position);
    return { stop: async () => void (this.stopped = true) };
  }

  push(e: PierEvent): void {
    this.listener!(e, ++this.position);
  }
}

/** Records what it is asked to serve; an apply can be held open or made to fail. */
class FakeDataPlane implements DataPlane {
  started?: RouteTable;
  applied: RouteTable[] = [];
  stopped = false;
  hold?: Promise<void>;
  failures = 0;

  async start(table: RouteTable) {
    this.started = table;
  }
  async apply(table: RouteTable) {
    await this.hold;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('socket gone');
    }
    this.applied.push(table);
  }
  async stop() {
    this.stopped = true;
  }
  async check() {}
  status(): DataPlaneStatus {
    return { running: true, reloads: 0, restarts: 0, runtimeCommands: 0, mapUpdates: 0 };
  }
}

const history = [
  runtime.appCreated('acme', 'web'),
  runtime.versionCreated('acme', 'web', 1),
  runtime.trafficSet('acme', 'web', { 1: 100 }),
  runtime.instanceRequested(I1, 'acme', 'web', 1),
  runtime.instanceStarted(I1, 41001),
];

function setup(events = history) {
  const feed = new FakeFeed(events);
  const dataPlane = new FakeDataPlane();
  const routes = new RouteSynchronizer(feed, dataPlane, createLogger('router', 'silent'));
  return { feed, dataPlane, routes };
}

describe('route synchronizer', () => {
  afterEach(() => jest.useRealTimers());

  it('starts the data plane with the table rebuilt from the whole history', async () => {
    const { dataPlane, routes } = setup();
    await routes.start();
    expect(dataPlane.started?.apps.get('acme_web')?.versions.get(1)?.slots).toEqual([I1]);
    expect(routes.isLive()).toBe(true);
  });

  it('applies each live change to the data plane', async () => {
    const { feed, dataPlane, routes } = setup();
    await routes.start();
    feed.push(runtime.instanceReady(I1));
    await routes.sync();
    expect(inRotation(dataPlane.applied.at(-1)!.instances.get(I1)!)).toBe(true);
  });

  it('coalesces changes that arrive while an apply runs into one apply of the latest table', async () => {
    const { feed, dataPlane, routes } = setup();
    await routes.start();
    const before = dataPlane.applied.length;
    let release!: () => void;
    dataPlane.hold = new Promise((resolve) => (release = resolve));
    feed.push(runtime.instanceReady(I1));
    feed.push(runtime.domainAdded('acme', 'web', 'a.example.com'));
    feed.push(runtime.domainAdded('acme', 'web', 'b.example.com'));
    const done = routes.sync();
    release();
    await done;
    expect(dataPlane.applied.length - before).toBe(2);
    expect(dataPlane.applied.at(-1)!.apps.get('acme_web')!.domains).toEqual([
      'a.example.com',
      'b.example.com',
    ]);
  });

  it('drains a known instance and answers once the data plane took it out', async () => {
    const { feed, dataPlane, routes } = setup();
    await routes.start();
    feed.push(runtime.instanceReady(I1));
    await routes.sync();
    let release!: () => void;
    dataPlane.hold = new Promise((resolve) => (release = resolve));
    let answered = false;
    const drained = routes.drain(I1).then((result) => ((answered = true), result));
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    release();
    expect(await drained).toBe(true);
    expect(inRotation(dataPlane.applied.at(-1)!.instances.get(I1)!)).toBe(false);
    // A later readiness event does not bring a drained instance back.
    feed.push(runtime.instanceReady(I1));
    await routes.sync();
    expect(inRotation(dataPlane.applied.at(-1)!.instances.get(I1)!)).toBe(false);
  });

  it("drains on a table that holds the stop's events: it waits for the position it is given", async () => {
    // v1's instance serves; v2's instance became ready and took the traffic, then v1's agent reported its
    // instance not ready (position 12) and asked to drain it, while this router's feed lagged at 7.
    const I2 = '40000000-0000-4000-8000-000000000002';
    const { feed, dataPlane, routes } = setup([...history, runtime.instanceReady(I1)]);
    await routes.start();
    feed.push(runtime.versionCreated('acme', 'web', 2));
    expect(feed.position).toBe(7);
    const drained = routes.drain(I1, { after: 12, deadline: Date.now() + 5000 });
    let answered = false;
    void drained.then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answered).toBe(false);
    // Drained only now: the table routes to v2 (the app keeps an instance in rotation).
    feed.push(runtime.instanceRequested(I2, 'acme', 'web', 2));
    feed.push(runtime.instanceStarted(I2, 41002));
    feed.push(runtime.instanceReady(I2));
    feed.push(runtime.trafficSet('acme', 'web', { 2: 100 }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answered).toBe(false);
    feed.push(runtime.instanceNotReady(I1));
    expect(await drained).toBe(true);
    const table = dataPlane.applied.at(-1)!;
    expect(inRotation(table.instances.get(I1)!)).toBe(false);
    expect(inRotation(table.instances.get(I2)!)).toBe(true);
    expect(table.apps.get('acme_web')!.weights.get(2)).toBe(10000);
  });

  it('drains on the table it has once the deadline passed without the position', async () => {
    const { feed, dataPlane, routes } = setup([...history, runtime.instanceReady(I1)]);
    await routes.start();
    const began = Date.now();
    expect(await routes.drain(I1, { after: feed.position + 5, deadline: began + 100 })).toBe(true);
    expect(Date.now() - began).toBeGreaterThanOrEqual(90);
    expect(inRotation(dataPlane.applied.at(-1)!.instances.get(I1)!)).toBe(false);
  });

  it('answers false for an instance it does not know, without touching the data plane', async () => {
    const { dataPlane, routes } = setup();
    await routes.start();
    const applies = dataPlane.applied.length;
    expect(await routes.drain('40000000-0000-4000-8000-00000000dead')).toBe(false);
    expect(dataPlane.applied.length).toBe(applies);
  });

  it('retries a failed apply with the table as it is then', async () => {
    const { feed, dataPlane, routes } = setup();
    await routes.start();
    jest.useFakeTimers();
    dataPlane.failures = 1;
    const applies = dataPlane.applied.length;
    feed.push(runtime.instanceReady(I1));
    await jest.advanceTimersByTimeAsync(0);
    expect(dataPlane.failures).toBe(0);
    expect(dataPlane.applied.length).toBe(applies);
    await jest.advanceTimersByTimeAsync(1500);
    expect(dataPlane.applied.length).toBe(applies + 1);
    expect(inRotation(dataPlane.applied.at(-1)!.instances.get(I1)!)).toBe(true);
  });

  it('stops following events and stops the data plane', async () => {
    const { feed, dataPlane, routes } = setup();
    await routes.start();
    await routes.stop();
    expect(feed.stopped).toBe(true);
    expect(dataPlane.stopped).toBe(true);
    expect(routes.isLive()).toBe(false);
  });
});
