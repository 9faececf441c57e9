import { mkdtempSync } from 'node:fs';
import { request as httpRequest, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { expectEventually, httpdVersion } from '@pier/testing';
import {
  type ApiInstance as Instance,
  type Platform,
  platformContainers,
  runSpace,
  startAgent,
  startNodes,
  startPlatform,
  stopPlatformWithApps,
} from './platform';

type ErrorReply = { error: { code: string } };
jest.setTimeout(180_000);

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
/** This run's own space: another platform on the machine may have an `acme` (the README's example). */
const SPACE = runSpace('acme');
const HOST = `web.${SPACE}.pier.localhost`;
const web = (label: string) => httpdVersion(`$HOSTNAME ${label}`, { cpu: 100, memory: 32 });

/**
 * The heart of Pier with real processes, real Docker and HAProxy: deploy, scale, replace, split traffic,
 * switch versions without dropping a request, survive a lost node and an agent restart.
 */
describe('deploy, scale and route an app (real Docker and HAProxy)', () => {
  let platform: Platform;
  let admin: string;
  let routerPort: number;
  const stateDir = mkdtempSync(join(tmpdir(), 'pier-deploy-'));
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 8 });
  const base = `/spaces/${SPACE}/apps/web`;

  /** One GET through the router with the app's Host header: status and body. */
  function get(
    path = '/index.html',
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: string; cookie: string }> {
    return new Promise((resolve) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: routerPort,
          path,
          headers: { host: HOST, ...headers },
          agent: keepAlive,
          timeout: 10_000,
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: body.trim(),
              cookie: (res.headers['set-cookie']?.[0] ?? '').split(';')[0]!,
            }),
          );
        },
      );
      req.on('error', (error) => resolve({ status: 0, body: String(error), cookie: '' }));
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
  }

  async function responders(requests: number): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    for (let i = 0; i < requests; i++) {
      const r = await get();
      expect(r.status).toBe(200);
      seen.set(r.body, (seen.get(r.body) ?? 0) + 1);
    }
    return seen;
  }

  const instances = async () =>
    (await platform.call<{ items: Instance[] }>(admin, 'GET', `${base}/instances`)).body.items;
  const ready = async (version: number) =>
    (await instances()).filter((i) => i.version === version && i.state === 'ready');

  beforeAll(async () => {
    platform = await startPlatform('deploy', {}, { router: true });
    routerPort = Number(platform.env.PIER_ROUTER_HTTP_PORT);
    admin = await platform.login(platform.admin.email, platform.admin.password);
    await platform.call(admin, 'POST', '/spaces', { name: SPACE });
    await startNodes(platform, admin, stateDir, ['one', 'two']);
    expect(
      (await platform.call(admin, 'POST', `/spaces/${SPACE}/apps`, { name: 'web', cluster: 'main' })).status,
    ).toBe(201);
  });

  afterAll(async () => {
    keepAlive.destroy();
    await stopPlatformWithApps(platform);
  });

  it('deploys v1 with 2 instances that both answer through the router', async () => {
    expect((await platform.call(admin, 'POST', `${base}/versions`, web('v1'))).status).toBe(201);
    expect((await platform.call(admin, 'POST', `${base}/versions/1/deploy`, { instances: 2 })).status).toBe(
      202,
    );
    await expectEventually(async () => expect(await ready(1)).toHaveLength(2), {
      timeoutMs: 60_000,
      what: 'two ready instances',
    });
    await expectEventually(async () => expect((await responders(20)).size).toBe(2), {
      timeoutMs: 15_000,
      what: 'both answer',
    });
    const nodes = new Set((await ready(1)).map((i) => i.nodeId));
    expect(nodes.size).toBe(2); // spread over both nodes
    const app = await platform.call<{
      health: number;
      versions: { version: number; readyInstances: number; weight: number; startedAt: string | null }[];
    }>(admin, 'GET', base);
    expect(app.body.health).toBe(100);
    expect(app.body.versions).toEqual([
      expect.objectContaining({ version: 1, readyInstances: 2, weight: 100, startedAt: expect.any(String) }),
    ]);
  });

  it('scales to 3, and a killed container is replaced and serves again', async () => {
    await platform.call(admin, 'POST', `${base}/versions/1/scale`, { instances: 3 });
    await expectEventually(async () => expect((await responders(30)).size).toBe(3), {
      timeoutMs: 60_000,
      what: 'three answer',
    });
    const victim = (await ready(1))[0]!;
    const [container] = await platformContainers(platform, [`pier.instance=${victim.id}`], { running: true });
    await docker.getContainer(container!.Id).kill({ signal: 'SIGKILL' });
    await expectEventually(
      async () => {
        const again = (await instances()).find((i) => i.id === victim.id)!;
        expect(again).toMatchObject({ state: 'ready' });
        expect(again.restarts).toBeGreaterThanOrEqual(1);
      },
      { timeoutMs: 60_000, what: 'killed container replaced' },
    );
    await expectEventually(async () => expect((await responders(30)).size).toBe(3), { timeoutMs: 15_000 });
  });

  it('splits traffic 80/20 between v1 and v2 (±5 %), and a weight of 0 gets nothing', async () => {
    await platform.call(admin, 'POST', `${base}/versions`, web('v2'));
    await platform.call(admin, 'POST', `${base}/versions/2/deploy`, { instances: 1 });
    await expectEventually(async () => expect(await ready(2)).toHaveLength(1), { timeoutMs: 60_000 });
    expect(
      (await platform.call(admin, 'PUT', `${base}/traffic`, { weights: { '1': 80, '2': 20 } })).status,
    ).toBe(200);
    await expectEventually(async () =>
      expect([...(await responders(50)).keys()].some((b) => b.endsWith('v2'))).toBe(true),
    );
    const seen = await responders(1000);
    const v2 = [...seen.entries()].filter(([b]) => b.endsWith('v2')).reduce((a, [, n]) => a + n, 0);
    expect(v2 / 1000).toBeGreaterThanOrEqual(0.15);
    expect(v2 / 1000).toBeLessThanOrEqual(0.25);

    await platform.call(admin, 'PUT', `${base}/traffic`, { weights: { '1': 100, '2': 0 } });
    await expectEventually(async () =>
      expect([...(await responders(50)).keys()].every((b) => b.endsWith('v1'))).toBe(true),
    );
    expect([...(await responders(300)).keys()].every((b) => b.endsWith('v1'))).toBe(true);
  });

  it('stops v1 without dropping a request: all traffic on v2, and v1 can be deleted', async () => {
    await platform.call(admin, 'POST', `${base}/versions/2/scale`, { instances: 2 });
    await expectEventually(async () => expect(await ready(2)).toHaveLength(2), { timeoutMs: 60_000 });
    const load = steadyLoad();
    await platform.call(admin, 'PUT', `${base}/traffic`, { weights: { '1': 50, '2': 50 } });
    await new Promise((r) => setTimeout(r, 1000));
    await platform.call(admin, 'POST', `${base}/versions/1/stop`);
    await expectEventually(
      async () => expect((await instances()).filter((i) => i.version === 1)).toHaveLength(0),
      { timeoutMs: 60_000 },
    );
    await platform.call(admin, 'POST', `${base}/versions/2/scale`, { instances: 1 }); // and a scale-down under load
    await expectEventually(
      async () => expect((await instances()).filter((i) => i.version === 2)).toHaveLength(1),
      { timeoutMs: 60_000 },
    );
    const { sent, failed } = await load.stop();
    expect(sent).toBeGreaterThan(100);
    expect(failed).toEqual([]);
    expect([...(await responders(100)).keys()].every((b) => b.endsWith('v2'))).toBe(true);
    expect((await platform.call(admin, 'DELETE', `${base}/versions/1`)).status).toBe(200);
  });

  it('replaces the instances of a node whose agent is killed on the other node, serving', async () => {
    await platform.call(admin, 'POST', `${base}/versions/2/scale`, { instances: 2 });
    await expectEventually(async () => expect(new Set((await ready(2)).map((i) => i.nodeId)).size).toBe(2), {
      timeoutMs: 60_000,
    });
    const one = platform.processes.find((p) => p.name === 'agent-one')!;
    const nodes = (await platform.call<{ items: { id: string; name: string }[] }>(admin, 'GET', '/nodes'))
      .body.items;
    const oneId = nodes.find((n) => n.name === 'one')!.id;
    const twoId = nodes.find((n) => n.name === 'two')!.id;
    one.child.kill('SIGKILL');
    await expectEventually(
      async () => {
        const live = await ready(2);
        expect(live).toHaveLength(2);
        expect(live.every((i) => i.nodeId === twoId)).toBe(true);
      },
      { timeoutMs: 60_000, what: 'instances moved to node two' },
    );
    expect((await responders(20)).size).toBe(2);
    // The old containers of node one (its Docker is this machine's) are strays once its agent returns;
    // then one instance moves back to it (rebalancing: the new one ready first), under load.
    const load = steadyLoad();
    startAgent(platform, 'one', join(stateDir, 'one'));
    await expectEventually(
      async () => {
        const live = await instances();
        expect(live).toHaveLength(2);
        expect(live.every((i) => i.state === 'ready')).toBe(true);
        expect(live.map((i) => i.nodeId).sort()).toEqual([oneId, twoId].sort());
      },
      { timeoutMs: 60_000, what: 'one instance moved back to node one' },
    );
    const { sent, failed } = await load.stop();
    expect(sent).toBeGreaterThan(100);
    expect(failed).toEqual([]);
    const live = new Set((await instances()).map((i) => i.id));
    await expectEventually(
      async () => {
        const containers = await platformContainers(platform, ['pier.app=web']);
        expect(containers.filter((c) => !live.has(c.Labels['pier.instance'] ?? ''))).toEqual([]);
        expect(containers).toHaveLength(2);
      },
      { timeoutMs: 60_000, what: 'node one strays and the moved instance removed' },
    );
  });

  it('adopts its containers after an agent restart: none duplicated, strays removed', async () => {
    const nodes = (await platform.call<{ items: { id: string; name: string }[] }>(admin, 'GET', '/nodes'))
      .body.items;
    const twoId = nodes.find((n) => n.name === 'two')!.id;
    const before = (await platformContainers(platform, [`pier.node=${twoId}`], { running: true }))
      .map((c) => c.Id)
      .sort();
    expect(before.length).toBeGreaterThan(0);
    const stray = await docker.createContainer({
      Image: 'pier/busybox:latest',
      Cmd: ['sleep', '3600'],
      Labels: {
        'pier.managed': 'true',
        'pier.node': twoId,
        'pier.instance': '00000000-0000-4000-8000-000000000000',
        'pier.installation': platform.installation,
        'pier.space': SPACE,
        'pier.app': 'web',
        'pier.version': '2',
      },
    });
    await stray.start();
    const two = platform.processes.find((p) => p.name === 'agent-two')!;
    two.child.kill('SIGKILL');
    await two.exited;
    startAgent(platform, 'two', join(stateDir, 'two'));
    await expectEventually(
      async () => {
        const after = (await platformContainers(platform, [`pier.node=${twoId}`])).map((c) => c.Id).sort();
        expect(after).toEqual(before);
      },
      { timeoutMs: 60_000, what: 'same containers, stray gone' },
    );
    expect((await responders(20)).size).toBe(2);
  });

  it('drains a node under load: its instances move (the new one ready first), the node is empty, and gets one back once uncordoned', async () => {
    const nodes = (await platform.call<{ items: { id: string; name: string }[] }>(admin, 'GET', '/nodes'))
      .body.items;
    const oneId = nodes.find((n) => n.name === 'one')!.id;
    const twoId = nodes.find((n) => n.name === 'two')!.id;
    expect((await ready(2)).filter((i) => i.nodeId === twoId)).toHaveLength(1);
    const load = steadyLoad();
    expect((await platform.call(admin, 'POST', `/nodes/${twoId}/drain`)).status).toBe(200);
    await expectEventually(
      async () => {
        const live = await instances();
        expect(live.filter((i) => i.version === 2)).toHaveLength(2);
        expect(live.every((i) => i.nodeId === oneId && i.state === 'ready')).toBe(true);
      },
      { timeoutMs: 60_000, what: 'instances moved off the drained node' },
    );
    await expectEventually(
      async () => expect(await platformContainers(platform, [`pier.node=${twoId}`])).toEqual([]),
      { timeoutMs: 30_000, what: 'drained node empty' },
    );
    // Uncordoned, the node gets one instance back.
    expect((await platform.call(admin, 'POST', `/nodes/${twoId}/uncordon`)).status).toBe(200);
    await expectEventually(
      async () => {
        const live = await instances();
        expect(live.every((i) => i.state === 'ready')).toBe(true);
        expect(live.map((i) => i.nodeId).sort()).toEqual([oneId, twoId].sort());
      },
      { timeoutMs: 60_000, what: 'one instance moved back to the uncordoned node' },
    );
    const { sent, failed } = await load.stop();
    expect(sent).toBeGreaterThan(100);
    expect(failed).toEqual([]);
  });

  it('keeps a client on one instance once the app has sticky sessions', async () => {
    const patched = await platform.call<{ stickySessions: boolean }>(admin, 'PATCH', base, {
      stickySessions: true,
    });
    expect(patched.status).toBe(200);
    expect(patched.body.stickySessions).toBe(true);
    let cookie = '';
    await expectEventually(
      async () => {
        cookie = (await get()).cookie;
        expect(cookie.startsWith(`pier_${SPACE}_web=`)).toBe(true);
      },
      { timeoutMs: 15_000, what: 'a sticky cookie' },
    );
    const bodies = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const answer = await get('/index.html', { cookie });
      expect(answer.status).toBe(200);
      bodies.add(answer.body);
    }
    expect(bodies.size).toBe(1);
    // Without the cookie, clients still spread over both instances.
    expect((await responders(30)).size).toBe(2);
  });

  it('surfaces an image that does not exist as failed instances with IMAGE_PULL_FAILED', async () => {
    await platform.call(admin, 'POST', `/spaces/${SPACE}/apps`, { name: 'ghost', cluster: 'main' });
    await platform.call(admin, 'POST', `/spaces/${SPACE}/apps/ghost/versions`, {
      image: '127.0.0.1:5000/pier/does-not-exist:1',
      resources: { cpu: 10, memory: 16 },
    });
    await platform.call(admin, 'POST', `/spaces/${SPACE}/apps/ghost/versions/1/deploy`, { instances: 1 });
    await expectEventually(
      async () => {
        const [i] = (
          await platform.call<{ items: Instance[] }>(admin, 'GET', `/spaces/${SPACE}/apps/ghost/instances`)
        ).body.items;
        expect(i).toMatchObject({ state: 'failed', code: 'IMAGE_PULL_FAILED' });
      },
      { timeoutMs: 60_000 },
    );
    const feed = await platform.call<{ items: { type: string; summary: string }[] }>(
      admin,
      'GET',
      `/spaces/${SPACE}/apps/ghost/events`,
    );
    expect(
      feed.body.items.some((e) => e.type === 'InstanceFailed' && e.summary.includes('IMAGE_PULL_FAILED')),
    ).toBe(true);
    const none = await platform.call<ErrorReply>(admin, 'POST', `${base}/versions/77/deploy`, {
      instances: 1,
    });
    expect(none.body.error.code).toBe('VERSION_NOT_FOUND');
  });

  it('serves a custom domain, and deleting the app stops everything and frees its names', async () => {
    expect((await platform.call(admin, 'POST', `${base}/domains`, { host: 'www.example.test' })).status).toBe(
      200,
    );
    await expectEventually(async () => {
      const answer = await get('/index.html', { host: 'www.example.test' });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatch(/ v2$/);
    });
    const taken = await platform.call<ErrorReply>(admin, 'POST', `/spaces/${SPACE}/apps/ghost/domains`, {
      host: 'www.example.test',
    });
    expect(taken.status).toBe(409);

    expect((await platform.call(admin, 'DELETE', base)).status).toBe(202);
    await expectEventually(async () => expect((await platform.call(admin, 'GET', base)).status).toBe(404), {
      timeoutMs: 60_000,
      what: 'app deleted',
    });
    // This platform's containers only: other installations on the machine may run an acme/web of their own.
    expect(await platformContainers(platform, [`pier.space=${SPACE}`, 'pier.app=web'])).toEqual([]);
    // The router follows the deletion from the event stream, a moment after the API shows it.
    await expectEventually(
      async () => {
        for (const host of [HOST, 'www.example.test']) {
          const answer = await get('/index.html', { host });
          expect(answer.status).toBe(404);
          expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'ROUTE_NOT_FOUND' } });
        }
      },
      { timeoutMs: 15_000, what: 'the router forgets the deleted app' },
    );
    // The custom domain is free again.
    expect(
      (
        await platform.call(admin, 'POST', `/spaces/${SPACE}/apps/ghost/domains`, {
          host: 'www.example.test',
        })
      ).status,
    ).toBe(200);
  });

  /** Requests in a loop (4 at a time) until stopped; every non-200 answer is a failure. */
  function steadyLoad() {
    let running = true;
    let sent = 0;
    const failed: string[] = [];
    const worker = async () => {
      while (running) {
        const r = await get();
        sent++;
        if (r.status !== 200) failed.push(`${r.status} ${r.body.slice(0, 100)}`);
        // A refused connection fails at once: do not spin.
        if (r.status === 0) await new Promise((done) => setTimeout(done, 10));
      }
    };
    const workers = [worker(), worker(), worker(), worker()];
    const stop = async () => {
      running = false;
      await Promise.all(workers);
      return { sent, failed };
    };
    loads.push(stop);
    return { stop };
  }
  /** Loads still running: a test that failed half-way leaves them to `afterEach`. */
  const loads: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    await Promise.all(loads.splice(0).map((stop) => stop()));
  });
});
