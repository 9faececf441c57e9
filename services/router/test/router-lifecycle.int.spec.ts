import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { type NatsConnection } from '@nats-io/transport-node';
import { type PierEvent, pierEvents, subjectsFor } from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { connectTestNats, expectEventually, uniqueName } from '@pier/testing';
import { renderHaproxyConfig } from '../src/domain/haproxy-config';
import { emptyRouteTable } from '../src/domain/route-table';
import { haproxyPaths, writeConfig } from '../src/infrastructure/haproxy/haproxy-files';
import { type Backend, type Echo, request, startBackend, whoAnswers } from './support/http';
import {
  publish,
  tearDownRouter,
  routerSetup,
  type RouterSetup,
  type RouterUnderTest,
  startRouter,
} from './support/router-harness';
import { runtime } from './support/runtime-events';

const HAPROXY = '/usr/sbin/haproxy';

describe('router lifecycle: reloads, restarts and HAProxy dying (real HAProxy and NATS)', () => {
  const prefix = uniqueName('router_life');
  let setup: RouterSetup;
  let nc: NatsConnection;
  let store: EventStore<PierEvent>;
  let router: RouterUnderTest | undefined;
  let steady: Backend;
  let slow: Backend;
  const host = (app: string) => `${app}.acme.pier.localhost`;

  function app(name: string, target: Backend): PierEvent[] {
    const id = randomUUID();
    return [
      runtime.appCreated('acme', name),
      runtime.versionCreated('acme', name, 1),
      runtime.trafficSet('acme', name, { 1: 100 }),
      runtime.instanceRequested(id, 'acme', name, 1),
      runtime.instanceStarted(id, target.port),
      runtime.instanceReady(id),
    ];
  }

  /**
   * Requests `host` until stopped, on fresh connections or over one keep-alive connection; resolves with
   * every outcome that was not a 200.
   */
  function keepRequesting(h: string, agent?: http.Agent): { stop(): Promise<string[]>; count(): number } {
    let running = true;
    let count = 0;
    const failures: string[] = [];
    const loop = (async () => {
      while (running) {
        try {
          const answer = await request(setup.httpPort, h, { agent: agent ?? false });
          if (answer.status !== 200) failures.push(`status ${answer.status}`);
        } catch (error) {
          failures.push((error as Error).message);
          // Nothing listening answers at once: do not spin.
          await new Promise((r) => setTimeout(r, 10));
        }
        count++;
      }
    })();
    const stop = async () => {
      running = false;
      await loop;
      return failures;
    };
    loops.push(stop);
    return { count: () => count, stop };
  }
  /** Request loops still running: a test that failed half-way leaves them to `afterEach`. */
  const loops: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    slow?.release();
    await Promise.all(loops.splice(0).map((stop) => stop()));
  });

  /** Waits until the driver has started a new HAProxy in place of `masterPid`. */
  async function restartedAfter(r: RouterUnderTest, masterPid: number, restarts: number): Promise<void> {
    await expectEventually(
      async () => {
        expect(r.driver.status()).toMatchObject({ running: true, restarts: restarts + 1 });
        expect((await r.driver.processes()).masterPid).not.toBe(masterPid);
      },
      { timeoutMs: 20_000, what: 'HAProxy restarted' },
    );
  }

  beforeAll(async () => {
    setup = await routerSetup(prefix);
    nc = await connectTestNats();
    store = await EventStore.open(nc, subjectsFor(prefix), pierEvents);
    steady = await startBackend('steady');
    slow = await startBackend('slow');
    await publish(store, ...app('steady', steady), ...app('slow', slow));
    router = await startRouter(setup);
  });

  afterAll(() => tearDownRouter(setup, nc, router, [steady, slow]));

  it('finishes a request in flight during a reload, and keeps serving other apps through reloads', async () => {
    const r = router!;
    const before = (await r.driver.processes()).workers;
    const reloads = r.driver.status().reloads;
    const traffic = keepRequesting(host('steady'));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const reused = [1, 2, 3, 4].map(() => keepRequesting(host('steady'), agent));
    // Held by the backend until released: in flight through every reload, however long they take.
    const inFlight = request(setup.httpPort, host('slow'), { path: '/hold' });
    await expectEventually(() => expect(slow.inFlight).toBe(1));
    for (let i = 0; i < 5; i++) {
      // Each new version changes the layout: a reload (a domain alone would not).
      await publish(
        store,
        runtime.versionCreated('acme', 'slow', i + 2),
        runtime.domainAdded('acme', 'slow', `reload-${i}.example.test`),
      );
      await expectEventually(() => expect(r.driver.status().reloads).toBeGreaterThan(reloads + i));
    }
    expect((await r.driver.processes()).workers).not.toEqual(before);
    // The reloads are done and the request is still being answered by the worker that took it.
    expect(slow.inFlight).toBe(1);
    slow.release();
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.headers['x-backend']).toBe('slow');
    const failures = await traffic.stop();
    const keepAliveFailures = (await Promise.all(reused.map((r) => r.stop()))).flat();
    agent.destroy();
    process.stdout.write(
      `router: during 5 reloads, ${traffic.count()} requests on fresh connections failed ${JSON.stringify(failures)}; ` +
        `${reused.reduce((n, r) => n + r.count(), 0)} over keep-alive failed ${JSON.stringify(keepAliveFailures)}\n`,
    );
    expect(failures).toEqual([]);
    expect(traffic.count()).toBeGreaterThan(10);
    // Clients reusing keep-alive connections see no reset either: the old worker answers the next
    // request on each connection and closes it after that answer.
    expect(keepAliveFailures).toEqual([]);
  });

  it('answers the next request on a keep-alive connection left idle across a reload, then closes it', async () => {
    const r = router!;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await request(setup.httpPort, host('steady'), { agent })).status).toBe(200);
      const reloads = r.driver.status().reloads;
      await publish(store, runtime.versionCreated('acme', 'steady', 2));
      await expectEventually(() => expect(r.driver.status().reloads).toBeGreaterThan(reloads));
      // The old worker has had time to act on its soft stop; by default it would close the idle connection.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const next = await request(setup.httpPort, host('steady'), { agent });
      expect(next.status).toBe(200);
      expect(next.headers.connection).toBe('close');
    } finally {
      agent.destroy();
    }
  });

  it('routes a request a replaced worker still gets with the newest table: never to an instance stopped since the reload', async () => {
    const r = router!;
    const before = await startBackend('before');
    const after = await startBackend('after');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const [first, second] = [randomUUID(), randomUUID()];
      await publish(
        store,
        runtime.appCreated('acme', 'moving'),
        runtime.versionCreated('acme', 'moving', 1),
        runtime.trafficSet('acme', 'moving', { 1: 100 }),
        runtime.instanceRequested(first, 'acme', 'moving', 1),
        runtime.instanceStarted(first, before.port),
        runtime.instanceReady(first),
      );
      await expectEventually(async () =>
        expect((await request(setup.httpPort, host('moving'))).headers['x-backend']).toBe('before'),
      );
      // This connection now belongs to the worker the reload below replaces.
      expect((await request(setup.httpPort, host('moving'), { agent })).headers['x-backend']).toBe('before');
      const reloads = r.driver.status().reloads;
      await publish(store, runtime.versionCreated('acme', 'moving', 2));
      await expectEventually(() => expect(r.driver.status().reloads).toBeGreaterThan(reloads));
      // The instance stops (its container may well still answer, as on a lost node) and another takes
      // its slot: through the runtime API, the current worker only.
      await publish(
        store,
        runtime.stopRequested(first),
        runtime.instanceStopped(first),
        runtime.instanceRequested(second, 'acme', 'moving', 1),
        runtime.instanceStarted(second, after.port),
        runtime.instanceReady(second),
      );
      await expectEventually(async () =>
        expect((await request(setup.httpPort, host('moving'))).headers['x-backend']).toBe('after'),
      );
      const sentBefore = before.received;
      const reused = await request(setup.httpPort, host('moving'), { agent });
      expect(reused.status).toBe(200);
      expect(reused.headers['x-backend']).toBe('after');
      // Handed over once, and closed after: the client's address is forwarded once.
      expect(reused.headers.connection).toBe('close');
      expect((JSON.parse(reused.body) as Echo).headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(before.received).toBe(sentBefore);
    } finally {
      agent.destroy();
      await Promise.all([before.close(), after.close()]);
    }
  });

  it('restarts HAProxy when its worker is killed, with the current routes', async () => {
    const r = router!;
    const { masterPid, workers } = await r.driver.processes();
    const restarts = r.driver.status().restarts;
    process.kill(workers[0]!, 'SIGKILL');
    await restartedAfter(r, masterPid, restarts);
    expect(await whoAnswers(setup.httpPort, host('steady'))).toBe('steady');
    expect(await whoAnswers(setup.httpPort, 'reload-4.example.test')).toBe('slow');
  });

  it('restarts HAProxy when its master is killed, with the current routes', async () => {
    const r = router!;
    const { masterPid } = await r.driver.processes();
    const restarts = r.driver.status().restarts;
    process.kill(masterPid, 'SIGKILL');
    // Its worker may serve a moment longer: wait for the new master, not for an answer.
    await restartedAfter(r, masterPid, restarts);
    expect(await whoAnswers(setup.httpPort, host('steady'))).toBe('steady');
    expect(await whoAnswers(setup.httpPort, 'reload-4.example.test')).toBe('slow');
  });

  it('rebuilds the same routes from events when the router restarts', async () => {
    const table = router!.routes.current();
    await router!.close();
    router = undefined;
    await expect(request(setup.httpPort, host('steady'))).rejects.toThrow(/ECONNREFUSED/);
    router = await startRouter(setup);
    expect(router.routes.current()).toEqual(table);
    expect(await whoAnswers(setup.httpPort, host('steady'))).toBe('steady');
    expect(await whoAnswers(setup.httpPort, 'reload-2.example.test')).toBe('slow');
    expect((await request(setup.httpPort, 'nobody.example.test')).status).toBe(404);
  });

  it('takes over an HAProxy that a router which died left running, without interrupting it', async () => {
    await router!.close();
    router = undefined;
    // What a router killed with SIGKILL leaves behind: its HAProxy, still serving (here an empty table).
    const paths = haproxyPaths(setup.stateDir);
    const settings = {
      bind: '127.0.0.1',
      httpPort: setup.httpPort,
      metricsBind: '127.0.0.1',
      metricsPort: setup.metricsPort,
      statsSocket: paths.statsSocket,
      handoffSocket: paths.handoffSocket,
      hostsMapFile: paths.hostsMap,
      routesMapFile: paths.routesMap,
      minSlots: 8,
      hardStopAfterSeconds: 600,
      threads: 0,
      serverMaxconn: 16,
      queueTimeoutMs: 3000,
      trustedProxies: [],
    };
    await writeConfig(HAPROXY, paths, renderHaproxyConfig(emptyRouteTable(), settings));
    const orphan: ChildProcess = spawn(
      HAPROXY,
      ['-W', '-S', `${paths.masterSocket},mode,600`, '-f', paths.config, '-p', paths.pidFile],
      { stdio: 'ignore' },
    );
    const orphanExit = new Promise((resolve) => orphan.once('exit', resolve));
    try {
      await expectEventually(async () =>
        expect((await request(setup.httpPort, host('steady'))).status).toBe(404),
      );
      const traffic = keepRequesting('nobody.example.test');
      router = await startRouter(setup);
      expect((await router.driver.processes()).masterPid).toBe(orphan.pid);
      expect(router.driver.status()).toMatchObject({ reloads: 1, restarts: 0 });
      expect(await whoAnswers(setup.httpPort, host('steady'))).toBe('steady');
      // Every request during the takeover was answered (404: that host is nobody's).
      const failures = await traffic.stop();
      expect(failures.filter((f) => f !== 'status 404')).toEqual([]);
      await router.close();
      router = undefined;
      await orphanExit;
    } finally {
      if (orphan.exitCode === null && orphan.signalCode === null) orphan.kill('SIGKILL');
    }
  });
});
