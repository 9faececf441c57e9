import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { expectEventually, sigtermRecordingApp } from '@pier/testing';
import {
  type Platform,
  platformContainers,
  runSpace,
  startNodes,
  startPlatform,
  stopPlatformWithApps,
  viaRouter,
} from './platform';

type Instance = {
  id: string;
  version: number;
  state: string;
  restarts: number;
  reason: string | null;
  lastProbe: { kind: string; ok: boolean; detail: string; at: string } | null;
};

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const SPACE = runSpace('lab');
jest.setTimeout(180_000);

/**
 * Whole-platform probes and graceful stop: one agent running real containers, the router in front. The
 * apps keep their health in files (`/tmp/ready`, `/tmp/alive`) that the test removes and restores with
 * `docker exec`, so each probe outcome is decided by the test, not by timing.
 */
describe('probes and graceful stop through the whole platform', () => {
  let platform: Platform;
  let admin: string;
  let routerPort: number;
  const stateDir = mkdtempSync(join(tmpdir(), 'pier-probes-'));

  const get = (app: string) => viaRouter(routerPort, `${app}.${SPACE}.pier.localhost`);

  const instances = async (app: string) =>
    (await platform.call<{ items: Instance[] }>(admin, 'GET', `/spaces/${SPACE}/apps/${app}/instances`)).body
      .items;

  async function containerOf(instanceId: string): Promise<string> {
    const [c] = await platformContainers(platform, [`pier.instance=${instanceId}`], { running: true });
    if (!c) throw new Error(`no running container for instance ${instanceId}`);
    return c.Id;
  }

  async function execIn(containerId: string, cmd: string[]): Promise<{ exitCode: number; output: string }> {
    const exec = await docker
      .getContainer(containerId)
      .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    // Docker multiplexes stdout/stderr: 8-byte frame headers before each chunk.
    const raw = Buffer.concat(chunks);
    let output = '';
    for (let i = 0; i + 8 <= raw.length;) {
      const size = raw.readUInt32BE(i + 4);
      output += raw.subarray(i + 8, i + 8 + size).toString();
      i += 8 + size;
    }
    return { exitCode: (await exec.inspect()).ExitCode ?? -1, output };
  }

  /** Creates an app with one version of `spec` and deploys one instance of it. */
  async function feedSummaries(app = 'flaky'): Promise<string[]> {
    const feed = await platform.call<{ items: { summary: string }[] }>(
      admin,
      'GET',
      `/spaces/${SPACE}/apps/${app}/events`,
    );
    return feed.body.items.map((e) => e.summary);
  }

  async function deploy(app: string, spec: Record<string, unknown>): Promise<void> {
    expect(
      (await platform.call(admin, 'POST', `/spaces/${SPACE}/apps`, { name: app, cluster: 'main' })).status,
    ).toBe(201);
    const version = await platform.call(admin, 'POST', `/spaces/${SPACE}/apps/${app}/versions`, {
      image: 'pier/busybox:latest',
      ports: [{ containerPort: 8080, protocol: 'http' }],
      resources: { cpu: 250, memory: 32 },
      ...spec,
    });
    expect(version.status).toBe(201);
    expect(
      (await platform.call(admin, 'POST', `/spaces/${SPACE}/apps/${app}/versions/1/deploy`, { instances: 1 }))
        .status,
    ).toBe(202);
  }

  beforeAll(async () => {
    platform = await startPlatform('probes', {}, { router: true });
    routerPort = Number(platform.env.PIER_ROUTER_HTTP_PORT);
    admin = await platform.login(platform.admin.email, platform.admin.password);
    await platform.call(admin, 'POST', '/spaces', { name: SPACE });
    await startNodes(platform, admin, stateDir, ['one']);
  });

  afterAll(async () => {
    await stopPlatformWithApps(platform);
  });

  it('never routes to an instance whose startup probe fails, and restarts it', async () => {
    await deploy('never', {
      command: ['sh', '-c', 'echo up > /tmp/index.html && exec httpd -f -p 8080 -h /tmp'],
      probes: {
        startup: {
          exec: { command: ['cat', '/tmp/never'] },
          periodSeconds: 1,
          timeoutSeconds: 3,
          failureThreshold: 2,
        },
        readiness: { http: { path: '/index.html', port: 8080 }, periodSeconds: 1 },
      },
      stop: { gracePeriodSeconds: 1 },
    });
    await expectEventually(
      async () => {
        const [i] = await instances('never');
        expect(i!.restarts).toBeGreaterThanOrEqual(1);
        expect(i!.state).not.toBe('ready');
      },
      { timeoutMs: 60_000, what: 'a restart after the startup probe failed' },
    );
    // The container itself serves; only the probe keeps it out of rotation.
    const [i] = await instances('never');
    for (let n = 0; n < 20; n++) {
      const answer = await get('never');
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body)).toMatchObject({
        error: { code: 'NO_READY_INSTANCE', details: { space: SPACE, app: 'never' } },
      });
    }
    const feed = await platform.call<{ items: { summary: string }[] }>(
      admin,
      'GET',
      `/spaces/${SPACE}/apps/never/events`,
    );
    expect(
      feed.body.items.some((e) =>
        e.summary.includes('startup probe failed: exec ["cat","/tmp/never"]: exit code 1'),
      ),
    ).toBe(true);
    expect((await instances('never')).find((x) => x.id === i!.id)!.state).not.toBe('ready');
  });

  it('keeps an only instance failing readiness serving (panic, said in the feed) without a restart; exec and TCP probes', async () => {
    await deploy('flaky', {
      command: [
        'sh',
        '-c',
        'echo flaky > /tmp/index.html && touch /tmp/ready /tmp/alive && exec httpd -f -p 8080 -h /tmp',
      ],
      probes: {
        startup: { tcp: { port: 8080 }, periodSeconds: 1 },
        readiness: {
          exec: { command: ['cat', '/tmp/ready'] },
          periodSeconds: 1,
          timeoutSeconds: 3,
          failureThreshold: 1,
        },
        liveness: {
          exec: { command: ['cat', '/tmp/alive'] },
          periodSeconds: 1,
          timeoutSeconds: 3,
          failureThreshold: 2,
        },
      },
      // An exec probe runs inside the container's CPU limit: starved of CPU, it would time out.
      resources: { cpu: 500, memory: 32 },
      stop: { gracePeriodSeconds: 1 },
    });
    await expectEventually(async () => expect((await get('flaky')).body).toBe('flaky'), {
      timeoutMs: 60_000,
      what: 'flaky serving through the router',
    });
    const [instance] = await instances('flaky');
    expect(instance).toMatchObject({ state: 'ready', restarts: 0 });
    const container = await containerOf(instance!.id);

    expect((await execIn(container, ['rm', '/tmp/ready'])).exitCode).toBe(0);
    await expectEventually(async () => expect((await instances('flaky'))[0]!.state).toBe('unhealthy'), {
      timeoutMs: 15_000,
      what: 'unhealthy',
    });
    // Its version has no other instance: rather than answer 503 for a running app, the router keeps it
    // in rotation (the panic threshold) and the feed says so.
    await expectEventually(
      async () =>
        expect(await feedSummaries()).toContainEqual(
          expect.stringMatching(
            /router: version 1 has no ready instance; keeps sending to its 1 running instance that had been ready \(panic\)/,
          ),
        ),
      {
        timeoutMs: 15_000,
        what: 'the panic in the feed',
      },
    );
    expect(await get('flaky')).toMatchObject({ status: 200, body: 'flaky' });
    const [notReady] = await instances('flaky');
    expect(notReady).toMatchObject({ state: 'unhealthy', restarts: 0 });
    expect(notReady!.reason).toMatch(/readiness probe failed/);
    expect(notReady!.lastProbe).toMatchObject({ kind: 'readiness', ok: false });
    expect(notReady!.lastProbe!.detail).toMatch(/^exec \["cat","\/tmp\/ready"\]: exit code 1/);
    expect(await containerOf(instance!.id)).toBe(container); // no restart: the same container

    expect((await execIn(container, ['touch', '/tmp/ready'])).exitCode).toBe(0);
    await expectEventually(
      async () =>
        expect(await feedSummaries()).toContainEqual(
          expect.stringMatching(/router: version 1 has a ready instance again \(panic over\)/),
        ),
      { timeoutMs: 15_000, what: 'ready again, panic over' },
    );
    expect((await get('flaky')).status).toBe(200);
    expect((await instances('flaky'))[0]).toMatchObject({
      state: 'ready',
      restarts: 0,
      lastProbe: { kind: 'readiness', ok: true, detail: 'exec ["cat","/tmp/ready"]: exit code 0' },
    });
  });

  it('restarts an instance whose liveness probe fails, and counts it', async () => {
    const [instance] = await instances('flaky');
    const container = await containerOf(instance!.id);
    expect((await execIn(container, ['rm', '/tmp/alive'])).exitCode).toBe(0);
    await expectEventually(
      async () => {
        const [again] = await instances('flaky');
        expect(again).toMatchObject({ id: instance!.id, state: 'ready', restarts: 1 });
      },
      { timeoutMs: 60_000, what: 'restarted after the liveness failure, and ready again' },
    );
    expect(await containerOf(instance!.id)).not.toBe(container);
    expect((await get('flaky')).body).toBe('flaky');
    const feed = await platform.call<{ items: { summary: string }[] }>(
      admin,
      'GET',
      `/spaces/${SPACE}/apps/flaky/events`,
    );
    expect(feed.body.items.some((e) => /exited: liveness probe failed/.test(e.summary))).toBe(true);
  });

  it('runs preStop first, then SIGTERM, and kills an app that ignores SIGTERM after its grace period', async () => {
    // The main process records SIGTERM in /tmp/log and keeps running; the preStop CGI appends `prestop`.
    const app = sigtermRecordingApp('stubborn');
    await deploy('stubborn', {
      command: ['sh', '-c', app],
      probes: { readiness: { http: { path: '/index.html', port: 8080 }, periodSeconds: 1 } },
      stop: { gracePeriodSeconds: 3, preStop: { http: { path: '/cgi-bin/prestop', port: 8080 } } },
    });
    await expectEventually(async () => expect((await get('stubborn')).body).toBe('stubborn'), {
      timeoutMs: 60_000,
    });
    const [instance] = await instances('stubborn');
    const container = await containerOf(instance!.id);

    const stopAt = Date.now();
    expect(
      (await platform.call(admin, 'POST', `/spaces/${SPACE}/apps/stubborn/versions/1/stop`)).status,
    ).toBe(202);
    // While the grace period runs, the container is still there and its log shows the order.
    await expectEventually(
      async () => expect((await execIn(container, ['cat', '/tmp/log'])).output).toBe('prestop\nterm\n'),
      { timeoutMs: 15_000, intervalMs: 100, what: 'preStop, then SIGTERM' },
    );
    await expectEventually(async () => expect(await instances('stubborn')).toEqual([]), {
      timeoutMs: 30_000,
      what: 'instance stopped',
    });
    expect(Date.now() - stopAt).toBeGreaterThanOrEqual(3000);
    const feed = await platform.call<{ items: { summary: string }[] }>(
      admin,
      'GET',
      `/spaces/${SPACE}/apps/stubborn/events`,
    );
    // Killed (128 + 9): SIGTERM did not end it.
    expect(feed.body.items.some((e) => /stopped \(exit code 137\)/.test(e.summary))).toBe(true);
    await expectEventually(
      async () => expect(await platformContainers(platform, [`pier.instance=${instance!.id}`])).toEqual([]),
      { timeoutMs: 10_000 },
    );
    expect((await get('stubborn')).status).toBe(503);
  });
});
