import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { expectEventually, TestRegistry } from '@pier/testing';
import {
  type Platform,
  platformContainers,
  runSpace,
  startNodes,
  startPlatform,
  stopPlatformWithApps,
  viaRouter as routerGet,
} from '../platform';

type ErrorReply = { error: { code: string; details?: Record<string, unknown> } };
type Quota = Record<'maxApps' | 'maxInstances' | 'maxCpuMillicores' | 'maxMemoryMiB', number | null>;
jest.setTimeout(240_000);

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const BASE = 'pier.localhost';
/** This run's own spaces: their networks (`pier-<space>`) are shared by every installation on the engine. */
const ALPHA = runSpace('alpha');
const MALLET = runSpace('mallet');
const DOOMED = runSpace('doomed');
/** An httpd that names its space, and a CGI script that echoes the forwarding headers it was sent. */
const web = (name: string) => ({
  image: 'pier/busybox:latest',
  command: [
    'sh',
    '-c',
    `echo ${name} > /tmp/index.html && mkdir -p /tmp/cgi-bin && ` +
      `printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\n` +
      `echo "xff=$HTTP_X_FORWARDED_FOR real=$HTTP_X_REAL_IP fwd=$HTTP_FORWARDED"\\n' > /tmp/cgi-bin/who && ` +
      'chmod +x /tmp/cgi-bin/who && exec httpd -f -p 8080 -h /tmp',
  ],
  ports: [{ containerPort: 8080, protocol: 'http' }],
  resources: { cpu: 100, memory: 32 },
  probes: { readiness: { http: { path: '/index.html', port: 8080 }, periodSeconds: 1 } },
  stop: { gracePeriodSeconds: 1 },
});

/**
 * Two tenants and a platform admin against the real platform (router, one node, Docker): what the
 * hostile tenant tried — another space's default domains and namespace, squatting, spoofed forwarding
 * headers, parallel deploys past a quota, more spaces than allowed — and what a deleted space leaves
 * to whoever takes its name next: nothing.
 */
describe('hostile tenant: domains, quotas and a space’s whole life', () => {
  let platform: Platform;
  let admin: string;
  let routerPort: number;
  const users: Record<'alice' | 'mallory', { id: string; token: string }> = {} as never;
  const stateDir = mkdtempSync(join(tmpdir(), 'pier-hostile-'));

  const call = <T = ErrorReply>(token: string, method: string, path: string, body?: unknown) =>
    platform.call<T>(token, method, path, body);

  const viaRouter = (host: string, path?: string, headers?: Record<string, string>) =>
    routerGet(routerPort, host, path, headers);

  /** Creates an app with one version running one instance, and waits until the router serves it. */
  async function runApp(token: string, space: string, app: string): Promise<void> {
    expect((await call(token, 'POST', `/spaces/${space}/apps`, { name: app, cluster: 'main' })).status).toBe(
      201,
    );
    expect((await call(token, 'POST', `/spaces/${space}/apps/${app}/versions`, web(space))).status).toBe(201);
    expect(
      (await call(token, 'POST', `/spaces/${space}/apps/${app}/versions/1/deploy`, { instances: 1 })).status,
    ).toBe(202);
    await expectEventually(
      async () => expect(await viaRouter(`${app}.${space}.${BASE}`)).toEqual({ status: 200, body: space }),
      { timeoutMs: 60_000, what: `${app}.${space} served` },
    );
  }

  beforeAll(async () => {
    platform = await startPlatform('hostile', { PIER_MAX_OWNED_SPACES: '3' }, { router: true });
    routerPort = Number(platform.env.PIER_ROUTER_HTTP_PORT);
    admin = await platform.login(platform.admin.email, platform.admin.password);
    for (const name of ['alice', 'mallory'] as const) {
      const email = `${name}@example.com`;
      const password = `Pw-${randomBytes(18).toString('base64url')}`;
      const created = await call<{ id: string }>(admin, 'POST', '/users', {
        email,
        displayName: name,
        password,
      });
      expect(created.status).toBe(201);
      users[name] = { id: created.body.id, token: await platform.login(email, password) };
    }
    expect((await call(users.alice.token, 'POST', '/spaces', { name: ALPHA })).status).toBe(201);
    expect((await call(users.mallory.token, 'POST', '/spaces', { name: MALLET })).status).toBe(201);
    await startNodes(platform, admin, stateDir, ['one']);
    await runApp(users.alice.token, ALPHA, 'web');
    await runApp(users.mallory.token, MALLET, 'x');
  });

  afterAll(async () => {
    await stopPlatformWithApps(platform);
  });

  describe('on the node', () => {
    const registry = new TestRegistry();
    let image = '';
    let recordsBefore = new Set<string>();
    const credentialRecords = async () =>
      new Set(
        (await docker.listImages())
          .flatMap((i) => i.RepoTags ?? [])
          .filter((t) => t.startsWith('pier-credentialed-pull:')),
      );
    /** The container of an app, and its address on its space's network. */
    const containerOf = async (space: string, app: string) => {
      const [found] = await platformContainers(platform, [`pier.space=${space}`, `pier.app=${app}`], {
        running: true,
      });
      const info = await docker.getContainer(found!.Id).inspect();
      return { id: found!.Id, ip: info.NetworkSettings.Networks[`pier-${space}`]!.IPAddress };
    };
    /** Runs `wget` inside a container: whether it got the page in 5 s, and what it said. */
    const fetchFrom = async (containerId: string, url: string): Promise<{ ok: boolean; out: string }> => {
      const exec = await docker.getContainer(containerId).exec({
        Cmd: ['timeout', '5', 'wget', '-q', '-O', '-', url],
        AttachStdout: true,
        AttachStderr: true,
      });
      const stream = await exec.start({});
      let out = '';
      stream.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await new Promise((resolve) => stream.on('end', resolve));
      return { ok: (await exec.inspect()).ExitCode === 0, out };
    };

    beforeAll(async () => {
      recordsBefore = await credentialRecords();
      await registry.start();
      image = await registry.push(docker, 'pier/busybox:latest', 'alpha/private', '1');
    });

    afterAll(async () => {
      await registry.remove();
      const created = [...(await credentialRecords())].filter((t) => !recordsBefore.has(t));
      for (const tag of [image, ...created])
        await docker
          .getImage(tag)
          .remove()
          .catch(() => undefined);
    });

    it('refuses probes the agent could not send, and the node stays up', async () => {
      const bad = [
        { http: { path: '/a b', port: 8080 } },
        { http: { path: '/', port: 8080, headers: { 'X-Evil': 'a\r\nInjected: yes' } } },
      ];
      for (const readiness of bad) {
        const reply = await call(users.mallory.token, 'POST', `/spaces/${MALLET}/apps/x/versions`, {
          ...web(MALLET),
          probes: { readiness },
        });
        expect([reply.status, reply.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
      }
      const nodes = await call<{ items: { state: string }[] }>(admin, 'GET', '/nodes');
      expect(nodes.body.items.map((n) => n.state)).toEqual(['ready']);
    });

    it('runs a private image only for the space whose credentials can read it', async () => {
      const secret = registry.secret();
      expect(
        (
          await call(users.alice.token, 'POST', `/spaces/${ALPHA}/secrets`, {
            name: 'regcred',
            value: secret,
          })
        ).status,
      ).toBe(201);
      expect(
        (await call(users.alice.token, 'POST', `/spaces/${ALPHA}/apps`, { name: 'priv', cluster: 'main' }))
          .status,
      ).toBe(201);
      const own = { ...web(ALPHA), image, registrySecret: 'regcred' };
      expect((await call(users.alice.token, 'POST', `/spaces/${ALPHA}/apps/priv/versions`, own)).status).toBe(
        201,
      );
      expect(
        (
          await call(users.alice.token, 'POST', `/spaces/${ALPHA}/apps/priv/versions/1/deploy`, {
            instances: 1,
          })
        ).status,
      ).toBe(202);
      await expectEventually(
        async () => expect(await viaRouter(`priv.${ALPHA}.${BASE}`)).toEqual({ status: 200, body: ALPHA }),
        { timeoutMs: 60_000, what: 'the private image running for its own space' },
      );

      // The image is on the node now; another space names it without credentials.
      expect(
        (
          await call(users.mallory.token, 'POST', `/spaces/${MALLET}/apps`, {
            name: 'thief',
            cluster: 'main',
          })
        ).status,
      ).toBe(201);
      const stolen = { ...web(MALLET), image };
      expect(
        (await call(users.mallory.token, 'POST', `/spaces/${MALLET}/apps/thief/versions`, stolen)).status,
      ).toBe(201);
      expect(
        (
          await call(users.mallory.token, 'POST', `/spaces/${MALLET}/apps/thief/versions/1/deploy`, {
            instances: 1,
          })
        ).status,
      ).toBe(202);
      await expectEventually(
        async () => {
          const { body } = await call<{ items: { state: string; code: string | null }[] }>(
            users.mallory.token,
            'GET',
            `/spaces/${MALLET}/apps/thief/instances`,
          );
          expect(body.items).toEqual([
            expect.objectContaining({ state: 'failed', code: 'IMAGE_PULL_FAILED' }),
          ]);
        },
        { timeoutMs: 60_000, what: 'the stolen image refused' },
      );
      const thieves = await platformContainers(platform, ['pier.app=thief']);
      expect(thieves).toEqual([]);
      await call(users.mallory.token, 'DELETE', `/spaces/${MALLET}/apps/thief`);
    });

    it('keeps containers of different spaces from reaching each other, not those of one space', async () => {
      const web1 = await containerOf(ALPHA, 'web');
      const priv = await containerOf(ALPHA, 'priv');
      const x = await containerOf(MALLET, 'x');
      // Docker frames exec output (an 8-byte header per chunk): look for the page in it.
      const within = await fetchFrom(priv.id, `http://${web1.ip}:8080/index.html`);
      expect([within.ok, within.out.includes(ALPHA)]).toEqual([true, true]);
      expect((await fetchFrom(x.id, `http://${web1.ip}:8080/index.html`)).ok).toBe(false);
      expect((await fetchFrom(web1.id, `http://${x.ip}:8080/index.html`)).ok).toBe(false);
    });
  });

  describe('domains', () => {
    const claim = (token: string, host: string, app = 'x', space = MALLET) =>
      call(token, 'POST', `/spaces/${space}/apps/${app}/domains`, { host });

    it('never lets a tenant take another space’s default domain or namespace', async () => {
      for (const host of [`web.${ALPHA}.${BASE}`, `api.web.${ALPHA}.${BASE}`, `future.${ALPHA}.${BASE}`]) {
        const reply = await claim(users.mallory.token, host);
        expect([host, reply.status, reply.body.error.code]).toEqual([host, 403, 'DOMAIN_RESERVED']);
      }
      // The victim's requests still arrive in the victim's container, every one.
      for (let i = 0; i < 20; i++)
        expect(await viaRouter(`web.${ALPHA}.${BASE}`)).toEqual({ status: 200, body: ALPHA });
    });

    it('keeps other hosts under the base domain for platform admins', async () => {
      expect((await claim(users.mallory.token, `shop.${BASE}`)).body.error.code).toBe('DOMAIN_RESERVED');
      expect((await claim(admin, `shop.${BASE}`)).status).toBe(200);
      await expectEventually(async () =>
        expect(await viaRouter(`shop.${BASE}`)).toEqual({ status: 200, body: MALLET }),
      );
      expect((await claim(users.mallory.token, `v2.x.${MALLET}.${BASE}`)).status).toBe(200);
    });

    it('stores no claim for an app that does not exist, and removes any valid host', async () => {
      const squat = await claim(users.mallory.token, 'squat.example.com', 'ghost');
      expect([squat.status, squat.body.error.code]).toEqual([404, 'APP_NOT_FOUND']);
      expect((await claim(users.alice.token, 'squat.example.com', 'web', ALPHA)).status).toBe(200);
      const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;
      expect(long).toHaveLength(253);
      expect((await claim(users.mallory.token, long)).status).toBe(200);
      const removed = await call(users.mallory.token, 'DELETE', `/spaces/${MALLET}/apps/x/domains/${long}`);
      expect(removed.status).toBe(200);
    });
  });

  it('replaces the forwarding headers a client sends before they reach the app', async () => {
    const reply = await viaRouter(`web.${ALPHA}.${BASE}`, '/cgi-bin/who', {
      'x-forwarded-for': '203.0.113.66',
      'x-real-ip': '203.0.113.66',
      forwarded: 'for=203.0.113.66',
    });
    expect(reply).toEqual({ status: 200, body: 'xff=127.0.0.1 real=127.0.0.1 fwd=' });
  });

  describe('quotas', () => {
    it('gives new spaces the platform’s default quota', async () => {
      const defaults = { maxApps: 100, maxInstances: 500, maxCpuMillicores: 128_000, maxMemoryMiB: 262_144 };
      expect((await call<Quota>(users.mallory.token, 'GET', `/spaces/${MALLET}/quota`)).body).toEqual(
        defaults,
      );
      const me = await call<{ user: { personalSpace: string } }>(users.mallory.token, 'GET', '/me');
      const personal = await call<Quota>(
        users.mallory.token,
        'GET',
        `/spaces/${me.body.user.personalSpace}/quota`,
      );
      expect(personal.body).toEqual(defaults);
    });

    it('lets only one of two parallel deploys past maxInstances', async () => {
      const quota = { maxApps: null, maxInstances: 2, maxCpuMillicores: null, maxMemoryMiB: null };
      expect((await call(admin, 'PUT', `/spaces/${MALLET}/quota`, quota)).status).toBe(200);
      expect(
        (await call(users.mallory.token, 'POST', `/spaces/${MALLET}/apps/x/versions`, web('v2'))).status,
      ).toBe(201);
      const [a, b] = await Promise.all([
        call(users.mallory.token, 'POST', `/spaces/${MALLET}/apps/x/versions/1/scale`, { instances: 2 }),
        call(users.mallory.token, 'POST', `/spaces/${MALLET}/apps/x/versions/2/deploy`, { instances: 1 }),
      ]);
      expect([a.status, b.status].sort()).toEqual([202, 422]);
      expect([a, b].find((r) => r.status === 422)!.body.error.code).toBe('QUOTA_EXCEEDED');
      const app = await call<{ versions: { desiredInstances: number }[] }>(
        users.mallory.token,
        'GET',
        `/spaces/${MALLET}/apps/x`,
      );
      expect(app.body.versions.reduce((sum, v) => sum + v.desiredInstances, 0)).toBe(2);
    });

    it('caps how many spaces a user owns', async () => {
      expect((await call(users.mallory.token, 'POST', '/spaces', { name: 'm2' })).status).toBe(201);
      expect((await call(users.mallory.token, 'POST', '/spaces', { name: 'm3' })).status).toBe(201);
      const fourth = await call(users.mallory.token, 'POST', '/spaces', { name: 'm4' });
      expect([fourth.status, fourth.body.error.code]).toEqual([422, 'QUOTA_EXCEEDED']);
      expect((await call(admin, 'POST', '/spaces', { name: 'm4' })).status).toBe(201);
    });
  });

  it('deletes a space with everything in it, and one created later under its name shares nothing', async () => {
    expect((await call(users.alice.token, 'POST', '/spaces', { name: DOOMED })).status).toBe(201);
    const quota = { maxApps: 7, maxInstances: 7, maxCpuMillicores: null, maxMemoryMiB: null };
    expect((await call(admin, 'PUT', `/spaces/${DOOMED}/quota`, quota)).status).toBe(200);
    await runApp(users.alice.token, DOOMED, 'site');
    const secret = { kind: 'generic', data: { PASSWORD: 'alice-only' } };
    expect(
      (await call(users.alice.token, 'POST', `/spaces/${DOOMED}/secrets`, { name: 'db', value: secret }))
        .status,
    ).toBe(201);

    const refused = await call(users.alice.token, 'DELETE', `/spaces/${DOOMED}`);
    expect([refused.status, refused.body.error.code]).toEqual([409, 'SPACE_NOT_EMPTY']);
    expect(refused.body.error.details).toMatchObject({ apps: 1, secrets: 1 });
    expect(await viaRouter(`site.${DOOMED}.${BASE}`)).toEqual({ status: 200, body: DOOMED });

    const deleting = await call<{ state: string }>(
      users.alice.token,
      'DELETE',
      `/spaces/${DOOMED}?cascade=true`,
    );
    expect(deleting.status).toBe(202);
    if (deleting.body.state === 'deleting') {
      const early = await call(admin, 'POST', '/spaces', { name: DOOMED });
      expect([early.status, early.body.error.code]).toEqual([409, 'SPACE_DELETING']);
    }
    // Gone for everyone at once, admins included, and its app stops serving.
    expect((await call(admin, 'GET', `/spaces/${DOOMED}/apps/site`)).status).toBe(404);
    await expectEventually(
      async () => {
        expect((await viaRouter(`site.${DOOMED}.${BASE}`)).status).toBe(404);
        const left = await platformContainers(platform, [`pier.space=${DOOMED}`]);
        expect(left).toHaveLength(0);
      },
      { timeoutMs: 60_000, what: 'the deleted space’s app stopped and removed' },
    );

    const reborn = await expectEventually(
      async () => {
        const reply = await call(admin, 'POST', '/spaces', { name: DOOMED });
        expect(reply.status).toBe(201);
        return reply;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'the name free again' },
    );
    expect(reborn.status).toBe(201);
    const apps = await call<{ items: unknown[] }>(admin, 'GET', `/spaces/${DOOMED}/apps`);
    expect(apps.body.items).toEqual([]);
    expect((await call(admin, 'GET', `/spaces/${DOOMED}/secrets`)).body).toEqual({ items: [] });
    expect(
      (await call(admin, 'POST', `/spaces/${DOOMED}/secrets`, { name: 'db', value: secret })).status,
    ).toBe(201);
    expect((await call<Quota>(admin, 'GET', `/spaces/${DOOMED}/quota`)).body.maxApps).toBe(100);
    const audit = await call<{ items: { actor: { id: string } }[] }>(
      admin,
      'GET',
      `/spaces/${DOOMED}/audit?limit=200`,
    );
    expect(audit.body.items.filter((e) => e.actor.id === users.alice.id)).toEqual([]);
    // Alice is not a member of the new space: it is not hers.
    expect((await call(users.alice.token, 'GET', `/spaces/${DOOMED}`)).status).toBe(404);
  });
});
