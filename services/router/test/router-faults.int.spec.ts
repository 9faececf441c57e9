import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { type NatsConnection } from '@nats-io/transport-node';
import { type PierEvent, pierEvents, subjectsFor } from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { connectTestNats, expectEventually, uniqueName } from '@pier/testing';
import { haproxyCommand, RuntimeSession } from '../src/infrastructure/haproxy/haproxy-socket';
import { type Backend, openTunnel, request, startBackend, tally, whoAnswers } from './support/http';
import {
  publish,
  tearDownRouter,
  routerSetup,
  type RouterSetup,
  type RouterUnderTest,
  startRouter,
} from './support/router-harness';
import { runtime } from './support/runtime-events';

/**
 * Issue 10 ("Faults"): what the router does when an app is slow or overloaded, and what weight, domain
 * and app changes cost the connections of everybody else.
 */
describe('router under faults: no reload for weights and hosts, panic, maxconn and queue (real HAProxy and NATS)', () => {
  const prefix = uniqueName('router_faults');
  /** Small on purpose: two requests at a time per instance, a queue of 1.5 s. */
  const MAXCONN = 2;
  let setup: RouterSetup;
  let nc: NatsConnection;
  let store: EventStore<PierEvent>;
  let router: RouterUnderTest;
  const backends: Backend[] = [];
  const host = (app: string) => `${app}.acme.pier.localhost`;

  const backend = async (name: string) => {
    const b = await startBackend(name);
    backends.push(b);
    return b;
  };

  /** An app whose versions each run the given instances (all ready), at the given weights (percent). */
  function deploy(name: string, versions: { weight: number; instances: Backend[] }[]) {
    const ids: string[] = [];
    const events: PierEvent[] = [runtime.appCreated('acme', name)];
    versions.forEach((_, i) => events.push(runtime.versionCreated('acme', name, i + 1)));
    events.push(
      runtime.trafficSet('acme', name, Object.fromEntries(versions.map((v, i) => [i + 1, v.weight]))),
    );
    versions.forEach((v, i) => {
      for (const target of v.instances) {
        const id = randomUUID();
        ids.push(id);
        events.push(
          runtime.instanceRequested(id, 'acme', name, i + 1),
          runtime.instanceStarted(id, target.port),
          runtime.instanceReady(id),
        );
      }
    });
    return { events, ids };
  }

  /** The worker serving now and the reloads so far, once the driver has applied everything it was told. */
  async function dataPlane() {
    await router.routes.sync();
    return { workers: (await router.driver.processes()).workers, reloads: router.driver.status().reloads };
  }

  beforeAll(async () => {
    setup = await routerSetup(prefix);
    nc = await connectTestNats();
    store = await EventStore.open(nc, subjectsFor(prefix), pierEvents);
    router = await startRouter(setup, {
      PIER_ROUTER_SERVER_MAXCONN: String(MAXCONN),
      PIER_ROUTER_QUEUE_TIMEOUT_MS: '1500',
    });
  });

  afterAll(async () => {
    for (const b of backends) b.release();
    await tearDownRouter(setup, nc, router, backends);
  });

  it('changes weights (0.01 % steps, a version at 0 and back) and domains without a reload, keeping every other connection; a WebSocket outlives them and a reload', async () => {
    const [steady, ws, v1, v2] = await Promise.all(
      ['steady', 'ws', 'canary-v1', 'canary-v2'].map((n) => backend(n)),
    );
    await publish(
      store,
      ...deploy('steady', [{ weight: 100, instances: [steady!] }]).events,
      ...deploy('ws', [{ weight: 100, instances: [ws!] }]).events,
      ...deploy('canary', [
        { weight: 100, instances: [v1!] },
        { weight: 0, instances: [v2!] },
      ]).events,
    );
    await expectEventually(async () =>
      expect(await whoAnswers(setup.httpPort, host('canary'))).toBe('canary-v1'),
    );
    const before = await dataPlane();

    const tunnel = await openTunnel(setup.httpPort, host('ws'));
    expect(tunnel.backend).toBe('ws');
    expect(await tunnel.exchange('before the changes')).toBe('before the changes');
    // A client of another app on one keep-alive connection, requesting all along.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    expect((await request(setup.httpPort, host('steady'), { agent })).status).toBe(200);
    const steadyConnections = steady!.connections;
    let running = true;
    const failures: string[] = [];
    let requests = 0;
    const loop = (async () => {
      while (running) {
        const answer = await request(setup.httpPort, host('steady'), { agent }).catch((e: Error) => e);
        if (answer instanceof Error || answer.status !== 200) failures.push(String(answer));
        requests++;
      }
    })();

    try {
      // Twenty weight changes of another app, v2 from 0 % to 100 % in steps of 5 %.
      for (let i = 1; i <= 20; i++) {
        await publish(store, runtime.trafficSet('acme', 'canary', { 1: 100 - 5 * i, 2: 5 * i }));
        await expectEventually(() =>
          expect(router.routes.current().apps.get('acme_canary')?.weights.get(2)).toBe(500 * i),
        );
        await router.routes.sync();
      }
      expect(await tally(setup.httpPort, host('canary'), 20)).toEqual({ 'canary-v2': 20 });
      // 0.01 % steps hold exactly: 9999 buckets for v1, one for v2.
      await publish(store, runtime.trafficSet('acme', 'canary', { 1: 99.99, 2: 0.01 }));
      await expectEventually(() =>
        expect(router.routes.current().apps.get('acme_canary')?.weights.get(2)).toBe(1),
      );
      await router.routes.sync();
      const routes = router.driver.paths.routesMap;
      const entries = (await haproxyCommand(router.driver.paths.statsSocket, `show map ${routes}`, 2000))
        .trim()
        .split('\n')
        .map((l) => l.split(' ').slice(1).join(' '))
        .filter((l) => l.startsWith('acme_canary'));
      expect(entries).toEqual(
        expect.arrayContaining([
          'acme_canary ~split',
          'acme_canary/c98 acme.canary.v1',
          'acme_canary/c99 ~fine',
          'acme_canary/b9998 acme.canary.v1',
          'acme_canary/b9999 acme.canary.v2',
        ]),
      );
      expect(await tally(setup.httpPort, host('canary'), 20)).toEqual({ 'canary-v1': 20 });

      // A domain added and removed: no reload either.
      await publish(store, runtime.domainAdded('acme', 'canary', 'canary.example.test'));
      await expectEventually(async () =>
        expect(await whoAnswers(setup.httpPort, 'canary.example.test')).toBe('canary-v1'),
      );
      await publish(store, runtime.domainRemoved('acme', 'canary', 'canary.example.test'));
      await expectEventually(async () =>
        expect((await request(setup.httpPort, 'canary.example.test')).status).toBe(404),
      );

      const after = await dataPlane();
      expect(after.reloads).toBe(before.reloads);
      expect(after.workers).toEqual(before.workers);
    } finally {
      running = false;
      await loop;
    }
    agent.destroy();
    process.stdout.write(
      `router: ${requests} keep-alive requests during 22 weight and 2 domain changes, failures ${JSON.stringify(failures)}, ` +
        `steady accepted ${steady!.connections - steadyConnections} new connection(s)\n`,
    );
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(20);
    // HAProxy kept its connection to the instance too: nothing was closed by the changes.
    expect(steady!.connections).toBe(steadyConnections);
    expect(tunnel.closed).toBe(false);
    expect(await tunnel.exchange('after the weight changes')).toBe('after the weight changes');

    // Unavoidable reloads (an app and its version are added): the WebSocket, held by the old worker, goes on.
    const other = await backend('other');
    await publish(store, ...deploy('other', [{ weight: 100, instances: [other] }]).events);
    await expectEventually(async () => expect(await whoAnswers(setup.httpPort, host('other'))).toBe('other'));
    expect(router.driver.status().reloads).toBeGreaterThan(before.reloads);
    // The old worker still holds the WebSocket (the master CLI may be re-executing for a reload: retry).
    await expectEventually(async () => {
      await router.routes.sync();
      expect((await router.driver.processes()).oldWorkers.length).toBeGreaterThanOrEqual(1);
    });
    expect(await tunnel.exchange('after a reload')).toBe('after a reload');
    tunnel.close();
  });

  it('spills by the map to the heaviest other weighted version, never to one at 0, and follows a sticky cookie only while its version has a weight', async () => {
    const [v2, v3, v4] = await Promise.all(['spill-v2', 'spill-v3', 'spill-v4'].map((n) => backend(n)));
    const { events } = deploy('spill', [
      { weight: 60, instances: [] },
      { weight: 30, instances: [v2!] },
      { weight: 10, instances: [v3!] },
      { weight: 0, instances: [v4!] },
    ]);
    await publish(store, ...events);
    // Version 1 has no instance: its 60 % go to the heaviest other version, v2.
    await expectEventually(async () =>
      expect(await whoAnswers(setup.httpPort, host('spill'))).toMatch(/^spill-v[23]$/),
    );
    const counts = await tally(setup.httpPort, host('spill'), 200);
    expect((counts['spill-v2'] ?? 0) + (counts['spill-v3'] ?? 0)).toBe(200);
    expect(counts['spill-v2']).toBeGreaterThan(counts['spill-v3'] ?? 0);
    expect(counts['spill-v3']).toBeLessThanOrEqual(60);
    expect(v4!.received).toBe(0);

    await publish(store, runtime.stickySessionsSet('acme', 'spill', true));
    const cookie = await expectEventually(async () => {
      const answer = await request(setup.httpPort, host('spill'));
      expect(answer.headers['x-backend']).toBe('spill-v2');
      expect(answer.headers['set-cookie']).toBeDefined();
      return String(answer.headers['set-cookie']?.[0]).split(';')[0]!;
    });
    expect(cookie).toBe('pier_acme_spill=2.s1');
    const before = await dataPlane();
    // v2 goes to 0: its cookie is no longer followed, and v3 takes everything.
    await publish(store, runtime.trafficSet('acme', 'spill', { 1: 0, 2: 0, 3: 100, 4: 0 }));
    await expectEventually(async () =>
      expect(
        (await request(setup.httpPort, host('spill'), { headers: { cookie } })).headers['x-backend'],
      ).toBe('spill-v3'),
    );
    expect(await tally(setup.httpPort, host('spill'), 20)).toEqual({ 'spill-v3': 20 });
    expect((await dataPlane()).reloads).toBe(before.reloads);
    expect(v4!.received).toBe(0);
  });

  it('keeps sending to the running instances that had been ready when the last ready one fails its readiness (panic), never to one still starting, and says so', async () => {
    const [a, fresh] = await Promise.all([backend('panic-a'), backend('panic-fresh')]);
    const { events, ids } = deploy('panic', [{ weight: 100, instances: [a!] }]);
    const freshId = randomUUID();
    await publish(
      store,
      ...events,
      // A second instance that started and never became ready.
      runtime.instanceRequested(freshId, 'acme', 'panic', 1),
      runtime.instanceStarted(freshId, fresh!.port),
    );
    await expectEventually(async () =>
      expect(await whoAnswers(setup.httpPort, host('panic'))).toBe('panic-a'),
    );
    const panicLine = /^pier_router_panic\{[^}]*\bapp="panic"[^}]*\} 1$/m;
    expect(await router.metrics()).not.toMatch(panicLine);

    // The readiness probe of the only ready instance times out under load.
    await publish(store, runtime.instanceNotReady(ids[0]!));
    await expectEventually(async () => expect(await router.metrics()).toMatch(panicLine));
    await router.routes.sync();
    expect(await tally(setup.httpPort, host('panic'), 30)).toEqual({ 'panic-a': 30 });
    expect(fresh!.received).toBe(0);
    const line = panicLine.exec(await router.metrics())![0];
    expect(line).toContain('space="acme"');
    expect(line).toContain('version="1"');

    // Ready again: out of panic, the metric says so.
    await publish(store, runtime.instanceReady(ids[0]!));
    await expectEventually(async () => expect(await router.metrics()).not.toMatch(panicLine));
    expect(await tally(setup.httpPort, host('panic'), 10)).toEqual({ 'panic-a': 10 });

    // An instance that exited is not running: nothing to panic to, the app answers NO_READY_INSTANCE.
    await publish(store, runtime.instanceNotReady(ids[0]!), runtime.instanceExited(ids[0]!));
    await expectEventually(async () =>
      expect((await request(setup.httpPort, host('panic'))).status).toBe(503),
    );
    const answer = await request(setup.httpPort, host('panic'));
    expect(JSON.parse(answer.body).error.code).toBe('NO_READY_INSTANCE');
    expect(fresh!.received).toBe(0);
  });

  it('holds at most maxconn requests per instance, queues the rest, and answers 503 APP_OVERLOADED with Retry-After when the queue times out', async () => {
    const busy = await backend('busy');
    await publish(store, ...deploy('busy', [{ weight: 100, instances: [busy] }]).events);
    await expectEventually(async () => expect(await whoAnswers(setup.httpPort, host('busy'))).toBe('busy'));
    const held = Array.from({ length: MAXCONN + 3 }, () =>
      request(setup.httpPort, host('busy'), { path: '/hold' }),
    );
    // The instance gets maxconn of them; the others wait in HAProxy's queue and time out there.
    const overloaded = await expectEventually(
      async () => {
        const settled = await Promise.all(
          held.map((p) => Promise.race([p, new Promise<null>((r) => setTimeout(() => r(null), 10))])),
        );
        const answered = settled.filter((a) => a !== null);
        expect(answered).toHaveLength(3);
        return answered;
      },
      { timeoutMs: 12_000, what: 'the queued requests answered' },
    );
    expect(busy.mostInFlight).toBe(MAXCONN);
    for (const answer of overloaded) {
      expect(answer.status).toBe(503);
      expect(answer.headers['content-type']).toBe('application/json');
      expect(answer.headers['retry-after']).toMatch(/^\d+$/);
      expect(JSON.parse(answer.body)).toEqual({
        error: {
          code: 'APP_OVERLOADED',
          message:
            'no instance of app busy in space acme took the request in time (all busy, or failing); try again shortly',
          details: { space: 'acme', app: 'busy' },
        },
      });
    }
    busy.release();
    const served = await Promise.all(held);
    expect(served.filter((a) => a.status === 200)).toHaveLength(MAXCONN);
  });

  it('sends a change of routes on one runtime API connection: answers in order, a refusal fails its command alone, a closed connection the session', async () => {
    const socket = router.driver.paths.statsSocket;
    const routes = router.driver.paths.routesMap;
    const session = await RuntimeSession.open(socket, 2000);
    try {
      expect(await session.command('show map')).toContain(`(${routes})`);
      const version = /New version created: (\d+)/.exec(await session.command(`prepare map ${routes}`))?.[1];
      expect(version).toMatch(/^\d+$/);
      // A payload (`<<`) answers after its last line; interactive mode's '+ ' per line is not the answer.
      expect(await session.command(`add map @${version} ${routes} <<\nprobe_a x\nprobe_b y\n`)).toBe('');
      await expect(session.command('set server pier.nobody/s1 state ready')).rejects.toThrow(
        /HAProxy refused "set server pier.nobody\/s1 state ready": No such (backend|server)/,
      );
      // Not committed: the version is dropped with the next prepare; the map as requests see it is intact.
      expect(await session.command(`show map ${routes}`)).not.toContain('probe_a');
    } finally {
      session.close();
    }
    await expect(session.command(`show map ${routes}`)).rejects.toThrow('closed');
    expect(await haproxyCommand(socket, 'show info', 2000)).toMatch(/^Name: HAProxy$/m);
  });
});
