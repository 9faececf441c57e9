import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { type NatsConnection } from '@nats-io/transport-node';
import { DrainInstance, type PierEvent, pierEvents, subjectsFor } from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { type CallContext, RpcClient } from '@pier/messaging';
import { connectTestNats, expectEventually, freePort, uniqueName } from '@pier/testing';
import {
  type Backend,
  type Echo,
  request,
  startBackend,
  tally,
  upgradeAndEcho,
  whoAnswers,
} from './support/http';
import {
  publish,
  tearDownRouter,
  routerSetup,
  type RouterSetup,
  type RouterUnderTest,
  startRouter,
} from './support/router-harness';
import { runtime } from './support/runtime-events';

/** One version of an app to deploy: its weight (percent) and its instances (backends or bare ports). */
interface VersionPlan {
  readonly version: number;
  readonly weight: number;
  readonly instances: readonly (Backend | number)[];
  readonly ready?: boolean;
}

describe('router (real HAProxy and NATS)', () => {
  const prefix = uniqueName('router');
  const caller: CallContext = { actor: { kind: 'service', id: 'agent-test' }, correlationId: 'test' };
  let setup: RouterSetup;
  let nc: NatsConnection;
  let store: EventStore<PierEvent>;
  let router: RouterUnderTest;
  const backends: Backend[] = [];

  const backend = async (name: string) => {
    const b = await startBackend(name);
    backends.push(b);
    return b;
  };

  /** The events of a deploy: the app, its versions, the split, and each instance started and ready. */
  function deployEvents(space: string, app: string, plan: readonly VersionPlan[]) {
    const ids = new Map<Backend | number, string>();
    const events: PierEvent[] = [runtime.appCreated(space, app)];
    for (const v of plan) events.push(runtime.versionCreated(space, app, v.version));
    events.push(runtime.trafficSet(space, app, Object.fromEntries(plan.map((v) => [v.version, v.weight]))));
    for (const v of plan) {
      for (const target of v.instances) {
        const id = randomUUID();
        ids.set(target, id);
        events.push(
          runtime.instanceRequested(id, space, app, v.version),
          runtime.instanceStarted(id, typeof target === 'number' ? target : target.port),
        );
        if (v.ready !== false) events.push(runtime.instanceReady(id));
      }
    }
    return { events, ids };
  }

  const host = (app: string) => `${app}.acme.pier.localhost`;
  const get = (h: string, options?: Parameters<typeof request>[2]) => request(setup.httpPort, h, options);

  beforeAll(async () => {
    setup = await routerSetup(prefix);
    nc = await connectTestNats();
    store = await EventStore.open(nc, subjectsFor(prefix), pierEvents);
    // History written before the router starts: it must rebuild this on start.
    const web = await backend('web-1');
    await publish(
      store,
      ...deployEvents('acme', 'web', [{ version: 1, weight: 100, instances: [web] }]).events,
    );
    router = await startRouter(setup);
  });

  afterAll(() => tearDownRouter(setup, nc, router, backends));

  it('routes the default domain of an app known before it started, and a custom domain added live', async () => {
    expect(await whoAnswers(setup.httpPort, host('web'))).toBe('web-1');
    expect(await whoAnswers(setup.httpPort, `WEB.Acme.Pier.Localhost:${setup.httpPort}`)).toBe('web-1');
    await publish(store, runtime.domainAdded('acme', 'web', 'shop.example.test'));
    await expectEventually(async () =>
      expect(await whoAnswers(setup.httpPort, 'Shop.Example.TEST:80')).toBe('web-1'),
    );
    await publish(store, runtime.domainRemoved('acme', 'web', 'shop.example.test'));
    await expectEventually(async () => expect((await get('shop.example.test')).status).toBe(404));
  });

  it('answers 404 ROUTE_NOT_FOUND in JSON for a host no app serves', async () => {
    const answer = await get('nobody.example.test');
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(JSON.parse(answer.body)).toEqual({
      error: {
        code: 'ROUTE_NOT_FOUND',
        message: 'no app is served at this host',
        details: { host: 'nobody.example.test' },
      },
    });
  });

  it('splits 80/20 by weight over 1000 requests and never routes to a version at 0', async () => {
    const [v1, v2, v3] = await Promise.all([backend('split-v1'), backend('split-v2'), backend('split-v3')]);
    await publish(
      store,
      ...deployEvents('acme', 'split', [
        { version: 1, weight: 80, instances: [v1!] },
        { version: 2, weight: 20, instances: [v2!] },
        { version: 3, weight: 0, instances: [v3!] },
      ]).events,
    );
    await expectEventually(async () =>
      expect(await whoAnswers(setup.httpPort, host('split'))).toMatch(/^split-v/),
    );
    const counts = await tally(setup.httpPort, host('split'), 1000);
    process.stdout.write(`router split 80/20 over 1000 requests: ${JSON.stringify(counts)}\n`);
    expect((counts['split-v1'] ?? 0) + (counts['split-v2'] ?? 0)).toBe(1000);
    expect(counts['split-v2']).toBeGreaterThanOrEqual(150);
    expect(counts['split-v2']).toBeLessThanOrEqual(250);
    expect(counts['split-v3']).toBeUndefined();
    expect(v3!.received).toBe(0);
  });

  it('takes an instance out of rotation and back on readiness, and follows a restart to its new port, without a reload', async () => {
    const [a, b] = await Promise.all([backend('flip-a'), backend('flip-b')]);
    const { events, ids } = deployEvents('acme', 'flip', [{ version: 1, weight: 100, instances: [a!, b!] }]);
    await publish(store, ...events);
    await expectEventually(async () =>
      expect(Object.keys(await tally(setup.httpPort, host('flip'), 20)).sort()).toEqual(['flip-a', 'flip-b']),
    );
    // A reload's new worker may serve before the driver has seen it: let the driver finish first.
    await router.routes.sync();
    const before = { workers: (await router.driver.processes()).workers, ...router.driver.status() };

    await publish(store, runtime.instanceNotReady(ids.get(b!)!));
    await expectEventually(async () =>
      expect(await tally(setup.httpPort, host('flip'), 20)).toEqual({ 'flip-a': 20 }),
    );
    await publish(store, runtime.instanceReady(ids.get(b!)!));
    await expectEventually(async () =>
      expect(await tally(setup.httpPort, host('flip'), 20)).toHaveProperty('flip-b'),
    );

    // The container restarts and publishes another port.
    const b2 = await backend('flip-b-restarted');
    await publish(
      store,
      runtime.instanceExited(ids.get(b!)!),
      runtime.instanceStarted(ids.get(b!)!, b2.port, { restarts: 1 }),
      runtime.instanceReady(ids.get(b!)!),
    );
    await expectEventually(async () =>
      expect(Object.keys(await tally(setup.httpPort, host('flip'), 20)).sort()).toEqual([
        'flip-a',
        'flip-b-restarted',
      ]),
    );

    const after = { workers: (await router.driver.processes()).workers, ...router.driver.status() };
    expect(after.workers).toEqual(before.workers);
    expect(after.reloads).toBe(before.reloads);
    expect(after.runtimeCommands).toBeGreaterThanOrEqual(before.runtimeCommands + 5);
  });

  it('answers 503 NO_READY_INSTANCE in JSON, naming the app, when no instance is ready', async () => {
    const down = await backend('down-1');
    await publish(
      store,
      ...deployEvents('acme', 'down', [{ version: 1, weight: 100, instances: [down], ready: false }]).events,
    );
    await expectEventually(async () => expect((await get(host('down'))).status).toBe(503));
    const answer = await get(host('down'));
    expect(answer.headers['content-type']).toBe('application/json');
    expect(JSON.parse(answer.body)).toEqual({
      error: {
        code: 'NO_READY_INSTANCE',
        message: 'no instance of app down in space acme is ready',
        details: { space: 'acme', app: 'down' },
      },
    });
    expect(down.received).toBe(0);
  });

  it('retries on another instance when a ready one refuses connections', async () => {
    const good = await backend('retry-good');
    const closedPort = await freePort();
    const { events } = deployEvents('acme', 'retry', [
      { version: 1, weight: 100, instances: [closedPort, good] },
    ]);
    await publish(store, ...events);
    await expectEventually(async () =>
      expect(await whoAnswers(setup.httpPort, host('retry'))).toBe('retry-good'),
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    try {
      const statuses = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          get(host('retry'), {
            agent,
            method: i % 4 === 3 ? 'POST' : 'GET',
            body: i % 4 === 3 ? 'x' : undefined,
          }),
        ),
      );
      expect(statuses.map((s) => s.status)).toEqual(Array(40).fill(200));
      expect(statuses.every((s) => s.headers['x-backend'] === 'retry-good')).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it('passes WebSocket upgrades through', async () => {
    const result = await upgradeAndEcho(setup.httpPort, host('web'), 'hello over the tunnel');
    expect(result).toEqual({ status: 101, backend: 'web-1', echoed: 'hello over the tunnel' });
  });

  it('tells the instance who asked: X-Forwarded-For, -Proto and -Host', async () => {
    const answer = await get(`${host('web')}:${setup.httpPort}`, { path: '/who' });
    const echo = JSON.parse(answer.body) as Echo;
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echo.headers['x-real-ip']).toBe('127.0.0.1');
    expect(echo.headers['x-forwarded-proto']).toBe('http');
    expect(echo.headers['x-forwarded-host']).toBe(`${host('web')}:${setup.httpPort}`);
    expect(echo.url).toBe('/who');
  });

  it('replaces the forwarding headers a client sends: only trusted proxies may set them', async () => {
    const answer = await get(`${host('web')}:${setup.httpPort}`, {
      path: '/who',
      headers: {
        'x-forwarded-for': '203.0.113.66',
        forwarded: 'for=203.0.113.66;proto=https',
        'x-real-ip': '203.0.113.66',
        'x-forwarded-host': 'bank.example.com',
        'x-forwarded-proto': 'https',
      },
    });
    const echo = JSON.parse(answer.body) as Echo;
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echo.headers['x-real-ip']).toBe('127.0.0.1');
    expect(echo.headers.forwarded).toBeUndefined();
    expect(echo.headers['x-forwarded-host']).toBe(`${host('web')}:${setup.httpPort}`);
    expect(echo.headers['x-forwarded-proto']).toBe('http');
  });

  it('keeps a sticky client on its version and instance, whatever the random split says, once AppStickySessionsSet turns it on', async () => {
    const [a1, a2, b1, b2] = await Promise.all(
      ['v1-a', 'v1-b', 'v2-a', 'v2-b'].map((n) => backend(`sticky-${n}`)),
    );
    await publish(
      store,
      ...deployEvents('acme', 'sticky', [
        { version: 1, weight: 50, instances: [a1!, a2!] },
        { version: 2, weight: 50, instances: [b1!, b2!] },
      ]).events,
    );
    await expectEventually(async () =>
      expect(Object.keys(await tally(setup.httpPort, host('sticky'), 40)).sort()).toEqual([
        'sticky-v1-a',
        'sticky-v1-b',
        'sticky-v2-a',
        'sticky-v2-b',
      ]),
    );
    // Off until the event says otherwise: no cookie.
    expect((await get(host('sticky'))).headers['set-cookie']).toBeUndefined();
    await publish(store, runtime.stickySessionsSet('acme', 'sticky', true));
    const first = await expectEventually(async () => {
      const answer = await get(host('sticky'));
      expect(answer.headers['set-cookie']).toBeDefined();
      return answer;
    });
    const cookie = String(first.headers['set-cookie']?.[0]).split(';')[0]!;
    expect(cookie).toMatch(/^pier_acme_sticky=[12]\.s[12]$/);
    const answers = await Promise.all(
      Array.from({ length: 40 }, () =>
        get(host('sticky'), { headers: { cookie } }).then((a) => a.headers['x-backend']),
      ),
    );
    expect(new Set(answers)).toEqual(new Set([first.headers['x-backend']]));
  });

  it('drains an instance on DrainInstance before answering, and answers drained: false for an unknown one', async () => {
    const [a, b] = await Promise.all([backend('drain-a'), backend('drain-b')]);
    const { events, ids } = deployEvents('acme', 'drain', [{ version: 1, weight: 100, instances: [a!, b!] }]);
    await publish(store, ...events);
    await expectEventually(async () =>
      expect(Object.keys(await tally(setup.httpPort, host('drain'), 20)).sort()).toEqual([
        'drain-a',
        'drain-b',
      ]),
    );
    const rpc = new RpcClient(nc, subjectsFor(prefix));
    const instanceId = ids.get(b!)!;
    expect(await rpc.call(DrainInstance, { instanceId }, caller)).toEqual({ instanceId, drained: true });
    // Answered only once no new request can reach it: no waiting here.
    expect(await tally(setup.httpPort, host('drain'), 30)).toEqual({ 'drain-a': 30 });
    const unknown = randomUUID();
    expect(await rpc.call(DrainInstance, { instanceId: unknown }, caller)).toEqual({
      instanceId: unknown,
      drained: false,
    });
  });

  it('drains on a table that has caught up with the stop: a router behind never leaves the app without an instance', async () => {
    // The agent asks to drain v1's instance after its not-ready report is stored, which comes after v2's
    // instance was ready and took the traffic. A router that has not read those events yet (its feed
    // lags, as after a NATS restart) waits for them instead of draining the app's only instance.
    const [old, replacement] = await Promise.all([backend('handover-v1'), backend('handover-v2')]);
    const { events, ids } = deployEvents('acme', 'handover', [
      { version: 1, weight: 100, instances: [old!] },
    ]);
    await publish(store, ...events);
    await expectEventually(async () =>
      expect(await whoAnswers(setup.httpPort, host('handover'))).toBe('handover-v1'),
    );
    const oldId = ids.get(old!)!;
    const newId = randomUUID();
    const stop = [
      runtime.versionCreated('acme', 'handover', 2),
      runtime.instanceRequested(newId, 'acme', 'handover', 2),
      runtime.instanceStarted(newId, replacement!.port),
      runtime.instanceReady(newId),
      runtime.trafficSet('acme', 'handover', { 2: 100 }),
      runtime.instanceNotReady(oldId),
    ];
    const last = (await store.jsm.streams.info(store.subjects.eventStream)).state.last_seq;
    const rpc = new RpcClient(nc, subjectsFor(prefix));
    const drained = rpc.call(
      DrainInstance,
      { instanceId: oldId, after: last + stop.length },
      {
        ...caller,
        timeoutMs: 10_000,
      },
    );
    let answered = false;
    void drained.then(() => (answered = true));
    expect(await tally(setup.httpPort, host('handover'), 20)).toEqual({ 'handover-v1': 20 });
    expect(answered).toBe(false);
    await publish(store, ...stop);
    expect(await drained).toEqual({ instanceId: oldId, drained: true });
    expect(await tally(setup.httpPort, host('handover'), 20)).toEqual({ 'handover-v2': 20 });
  });

  it('counts requests, status classes and latency per app version on the Prometheus exporter', async () => {
    await tally(setup.httpPort, host('web'), 5);
    await get(host('down'));
    const metrics = await request(setup.metricsPort, '127.0.0.1', { path: '/metrics' });
    expect(metrics.status).toBe(200);
    const value = (pattern: string) => Number(new RegExp(`^${pattern} (\\S+)$`, 'm').exec(metrics.body)?.[1]);
    expect(value('haproxy_backend_http_requests_total\\{proxy="acme.web.v1"\\}')).toBeGreaterThanOrEqual(5);
    expect(
      value('haproxy_backend_http_responses_total\\{proxy="acme.web.v1",code="2xx"\\}'),
    ).toBeGreaterThanOrEqual(5);
    expect(
      value('haproxy_backend_http_responses_total\\{proxy="acme.down.unavailable",code="5xx"\\}'),
    ).toBeGreaterThanOrEqual(1);
    expect(metrics.body).toMatch(/^haproxy_backend_total_time_average_seconds\{proxy="acme.web.v1"\} /m);
  });
});
