import { PierError, versionSpecSchema, type VersionSpecInput } from '@pier/contracts';
import { createLogger } from '@pier/observability';
import { type ContainerSpec } from '../../domain/container-spec';
import { type RegistryAnswer } from '../../domain/image-access';
import {
  type ContainerDriver,
  EngineUnreachableError,
  type PlatformServices,
  type RegistryAuth,
} from '../ports';
import { ContainerLauncher } from './container-launcher';

const NODE = '11111111-1111-4111-8111-111111111111';
const INSTANCE = '22222222-2222-4222-8222-222222222222';

interface FakeOptions {
  /** Images the engine holds; `true` when this node pulled them with credentials. */
  local?: Record<string, boolean>;
  pullError?: string;
  startError?: string | Error;
  localError?: Error;
  /** What the registry says to an anonymous manifest request; readable when not given. */
  anonymous?: { answer: RegistryAnswer; detail: string };
}

/** A driver that records what it is asked. */
function fakeDriver(options: FakeOptions = {}) {
  const calls: string[] = [];
  const pulls: { image: string; auth?: RegistryAuth }[] = [];
  const started: ContainerSpec[] = [];
  const local = new Map(Object.entries(options.local ?? {}));
  const driver = {
    localImage: async (image: string) => {
      if (options.localError) throw options.localError;
      return local.has(image) ? { id: `sha256:${image}`, pulledWithCredentials: local.get(image)! } : null;
    },
    pullImage: async (image: string, auth?: RegistryAuth) => {
      pulls.push({ image, ...(auth ? { auth } : {}) });
      if (options.pullError) throw new Error(options.pullError);
      if (!local.has(image)) local.set(image, false);
    },
    recordCredentialedPull: async (image: string) => {
      calls.push(`record ${image}`);
      local.set(image, true);
    },
    anonymousAccess: async (image: string) => {
      calls.push(`ask ${image}`);
      return options.anonymous ?? { answer: 'readable', detail: '' };
    },
    list: async (labels: Record<string, string>) => {
      calls.push(`list ${labels['pier.instance']}`);
      return [{ id: 'leftover', labels, running: false, createdAt: 0 }];
    },
    destroy: async (id: string) => void calls.push(`destroy ${id}`),
    start: async (spec: ContainerSpec) => {
      calls.push('start');
      if (options.startError)
        throw typeof options.startError === 'string' ? new Error(options.startError) : options.startError;
      started.push(spec);
      return {
        id: 'c1',
        labels: {},
        running: true,
        exitCode: null,
        oomKilled: false,
        startedAt: 1,
        finishedAt: null,
        error: '',
        ports: [],
      };
    },
  } as unknown as ContainerDriver;
  return { driver, calls, pulls, started };
}

function platform(secrets: Record<string, unknown>): PlatformServices {
  return {
    revealSecret: async (_space, name) => {
      if (!(name in secrets)) throw new PierError('SECRET_NOT_FOUND', `secret ${name} not found`);
      return secrets[name];
    },
    drainInstance: async () => 'no-router',
  };
}

const assignment = (spec: VersionSpecInput) => ({
  nodeId: NODE,
  instanceId: INSTANCE,
  space: 'acme',
  app: 'web',
  version: 1,
  spec: versionSpecSchema.parse(spec),
});
const logger = createLogger('test', 'silent');
const registryCred = { kind: 'registry', server: '127.0.0.1:5000', username: 'u', password: 'p' };

describe('ContainerLauncher', () => {
  it('removes the instance’s leftover containers before a start, unless told it has none', async () => {
    const fake = fakeDriver();
    const launcher = new ContainerLauncher(fake.driver, platform({}), '127.0.0.1', logger);
    expect((await launcher.launch(assignment({ image: 'acme/web:1' }), 0)).ok).toBe(true);
    expect(fake.calls.filter((c) => !c.startsWith('ask '))).toEqual([
      `list ${INSTANCE}`,
      'destroy leftover',
      'start',
    ]);
    fake.calls.length = 0;
    expect((await launcher.launch(assignment({ image: 'acme/web:1' }), 0, { leftovers: false })).ok).toBe(
      true,
    );
    expect(fake.calls.filter((c) => !c.startsWith('ask '))).toEqual(['start']);
  });

  it('pulls a missing image with the credentials of its own registry', async () => {
    const fake = fakeDriver();
    const launcher = new ContainerLauncher(fake.driver, platform({ reg: registryCred }), '127.0.0.1', logger);
    const result = await launcher.launch(
      assignment({ image: '127.0.0.1:5000/acme/web:1', registrySecret: 'reg' }),
      0,
    );
    expect(result.ok).toBe(true);
    expect(fake.pulls).toEqual([
      {
        image: '127.0.0.1:5000/acme/web:1',
        auth: { server: '127.0.0.1:5000', username: 'u', password: 'p' },
      },
    ]);
  });

  it('never sends credentials to another registry, and says so when the image is refused', async () => {
    const fake = fakeDriver({ anonymous: { answer: 'denied', detail: 'unauthorized' } });
    const launcher = new ContainerLauncher(fake.driver, platform({ reg: registryCred }), '127.0.0.1', logger);
    const result = await launcher.launch(
      assignment({ image: 'ghcr.io/acme/web:1', registrySecret: 'reg' }),
      0,
    );
    expect(fake.pulls).toEqual([]);
    expect(result).toEqual({
      ok: false,
      code: 'IMAGE_PULL_FAILED',
      reason:
        'pulling ghcr.io/acme/web:1 failed: ghcr.io denies access without credentials, and the version has ' +
        'no registry secret for it (unauthorized) (registry secret "reg" is for 127.0.0.1:5000, not ghcr.io: not sent)',
    });
  });

  it('pulls a cached image again with the version’s credentials: the cache is no proof of access', async () => {
    const image = '127.0.0.1:5000/acme/web:1';
    const fake = fakeDriver({ local: { [image]: true } });
    const launcher = new ContainerLauncher(fake.driver, platform({ reg: registryCred }), '127.0.0.1', logger);
    expect((await launcher.launch(assignment({ image, registrySecret: 'reg' }), 0)).ok).toBe(true);
    expect(fake.pulls).toEqual([{ image, auth: { server: '127.0.0.1:5000', username: 'u', password: 'p' } }]);
    expect(fake.calls).toContain(`record ${image}`);
  });

  it('refuses credentials the registry rejects, even for a cached image, and starts nothing', async () => {
    const image = '127.0.0.1:5000/acme/web:1';
    const fake = fakeDriver({ local: { [image]: true }, pullError: 'unauthorized: authentication required' });
    const launcher = new ContainerLauncher(fake.driver, platform({ reg: registryCred }), '127.0.0.1', logger);
    expect(await launcher.launch(assignment({ image, registrySecret: 'reg' }), 0)).toEqual({
      ok: false,
      code: 'IMAGE_PULL_FAILED',
      reason: `pulling ${image} failed: the registry refused the credentials of the registry secret: unauthorized: authentication required`,
    });
    expect(fake.calls).not.toContain('start');
  });

  it('asks an explicit registry before running a cached image without credentials', async () => {
    const image = '127.0.0.1:5000/acme/web:1';
    const denied = fakeDriver({
      local: { [image]: false },
      anonymous: { answer: 'denied', detail: 'no basic auth credentials' },
    });
    const launcher = new ContainerLauncher(denied.driver, platform({}), '127.0.0.1', logger);
    expect(await launcher.launch(assignment({ image }), 0)).toMatchObject({
      ok: false,
      code: 'IMAGE_PULL_FAILED',
      reason: expect.stringContaining('127.0.0.1:5000 denies access without credentials'),
    });
    expect(denied.calls).toEqual([`ask ${image}`]);

    const open = fakeDriver({ local: { [image]: false } });
    const openLauncher = new ContainerLauncher(open.driver, platform({}), '127.0.0.1', logger);
    expect((await openLauncher.launch(assignment({ image }), 0)).ok).toBe(true);
    expect(open.pulls).toEqual([]);
  });

  it('runs a cached image while its registry is down only if this node never needed credentials for it', async () => {
    const image = '127.0.0.1:5000/acme/web:1';
    const down = { answer: 'unavailable' as const, detail: 'connection refused' };
    const launch = (
      fake: ReturnType<typeof fakeDriver>,
      secrets: Record<string, unknown>,
      registrySecret?: string,
    ) =>
      new ContainerLauncher(fake.driver, platform(secrets), '127.0.0.1', logger).launch(
        assignment({ image, ...(registrySecret ? { registrySecret } : {}) }),
        0,
      );
    expect((await launch(fakeDriver({ local: { [image]: false }, anonymous: down }), {})).ok).toBe(true);
    expect(await launch(fakeDriver({ local: { [image]: true }, anonymous: down }), {})).toMatchObject({
      ok: false,
      reason: expect.stringContaining('was pulled with credentials'),
    });
    const unreachable = fakeDriver({ local: { [image]: true }, pullError: 'dial tcp: connection refused' });
    expect(await launch(unreachable, { reg: registryCred }, 'reg')).toMatchObject({ ok: false });
    expect(unreachable.calls).not.toContain('start');
  });

  it('runs a cached image without a registry host (built on the node) without asking anybody', async () => {
    const fake = fakeDriver({ local: { 'pier/busybox:latest': false } });
    const launcher = new ContainerLauncher(fake.driver, platform({}), '127.0.0.1', logger);
    expect((await launcher.launch(assignment({ image: 'pier/busybox:latest' }), 0)).ok).toBe(true);
    expect(fake.pulls).toEqual([]);
    expect(fake.calls).toEqual([`list ${INSTANCE}`, 'destroy leftover', 'start']);
  });

  it('asks the registry about an image once pulled with credentials, whatever its reference', async () => {
    const fake = fakeDriver({
      local: { 'acme/private:1': true },
      anonymous: { answer: 'unavailable', detail: 'x' },
    });
    const launcher = new ContainerLauncher(fake.driver, platform({}), '127.0.0.1', logger);
    expect(await launcher.launch(assignment({ image: 'acme/private:1' }), 0)).toMatchObject({ ok: false });
    expect(fake.calls).toEqual(['ask acme/private:1']);
  });

  it('fails with SECRET_UNAVAILABLE when the registry secret cannot be read or is of another kind', async () => {
    const launcher = new ContainerLauncher(
      fakeDriver().driver,
      platform({ gen: { kind: 'generic', data: {} } }),
      '127.0.0.1',
      logger,
    );
    expect(await launcher.launch(assignment({ image: 'x/y:1', registrySecret: 'nope' }), 0)).toEqual({
      ok: false,
      code: 'SECRET_UNAVAILABLE',
      reason: 'registry secret "nope" cannot be read: SECRET_NOT_FOUND: secret nope not found',
    });
    expect(await launcher.launch(assignment({ image: 'x/y:1', registrySecret: 'gen' }), 0)).toMatchObject({
      code: 'SECRET_UNAVAILABLE',
      reason: 'registry secret "gen" is not a registry secret',
    });
  });

  it('removes what is left of the instance, then starts it with its environment and restart count', async () => {
    const fake = fakeDriver({ local: { 'img:1': false } });
    const secrets = { db: { kind: 'generic', data: { password: 'pw' } } };
    const launcher = new ContainerLauncher(fake.driver, platform(secrets), '127.0.0.1', logger);
    const spec = { image: 'img:1', env: { A: '1' }, secretEnv: { DB: { secret: 'db', key: 'password' } } };
    const result = await launcher.launch(assignment(spec), 3);
    expect(result.ok).toBe(true);
    expect(fake.calls).toEqual([`list ${INSTANCE}`, 'destroy leftover', 'start']);
    expect(fake.started[0]).toMatchObject({ env: { A: '1', DB: 'pw' }, labels: { 'pier.restarts': '3' } });
  });

  it('starts the container on its space’s network with the node’s limits', async () => {
    const fake = fakeDriver({ local: { 'img:1': false } });
    const limits = { pidsLimit: 99, logMaxSize: '5m', logMaxFiles: 2 };
    const launcher = new ContainerLauncher(fake.driver, platform({}), '127.0.0.1', logger, limits);
    expect((await launcher.launch(assignment({ image: 'img:1' }), 0)).ok).toBe(true);
    expect(fake.started[0]).toMatchObject({
      network: { name: 'pier-acme', aliases: ['web', INSTANCE] },
      security: { noNewPrivileges: true, capDrop: ['ALL'] },
      pidsLimit: 99,
      logs: { maxSize: '5m', maxFiles: 2 },
    });
  });

  it('reports an engine that cannot start the process as CONTAINER_START_FAILED', async () => {
    const fake = fakeDriver({
      local: { 'img:1': false },
      startError: 'exec: "nope": executable file not found in $PATH',
    });
    const launcher = new ContainerLauncher(fake.driver, platform({}), '127.0.0.1', logger);
    expect(await launcher.launch(assignment({ image: 'img:1', command: ['nope'] }), 0)).toEqual({
      ok: false,
      code: 'CONTAINER_START_FAILED',
      reason: 'exec: "nope": executable file not found in $PATH',
    });
  });

  it('says the engine did not answer (not that the image or the app failed) when its socket refuses or drops', async () => {
    const dropped = fakeDriver({
      local: { 'acme/web:1': false },
      startError: new EngineUnreachableError('socket hang up'),
    });
    const refused = fakeDriver({
      localError: new EngineUnreachableError('connect ENOENT /var/run/docker.sock'),
    });
    for (const fake of [dropped, refused]) {
      const launcher = new ContainerLauncher(fake.driver, platform({}), '127.0.0.1', logger);
      const result = await launcher.launch(assignment({ image: 'acme/web:1' }), 0);
      expect(result).toMatchObject({ ok: false, code: 'ENGINE_UNAVAILABLE', engineUnreachable: true });
    }
    expect(dropped.calls).toContain('start');
  });
});
