import { PierError, versionSpecSchema, type VersionSpecInput } from '@pier/contracts';
import { createLogger } from '@pier/observability';
import { type ContainerSpec } from '../../domain/container-spec';
import { type ContainerDriver, type PlatformServices, type RegistryAuth } from '../ports';
import { ContainerLauncher } from './container-launcher';

const NODE = '11111111-1111-4111-8111-111111111111';
const INSTANCE = '22222222-2222-4222-8222-222222222222';

/** A driver that records what it is asked; images are missing unless listed in `local`. */
function fakeDriver(options: { local?: string[]; pullError?: string; startError?: string } = {}) {
  const calls: string[] = [];
  const pulls: { image: string; auth?: RegistryAuth }[] = [];
  const started: ContainerSpec[] = [];
  const driver = {
    hasImage: async (image: string) => (options.local ?? []).includes(image),
    pullImage: async (image: string, auth?: RegistryAuth) => {
      pulls.push({ image, ...(auth ? { auth } : {}) });
      if (options.pullError) throw new Error(options.pullError);
    },
    list: async (labels: Record<string, string>) => {
      calls.push(`list ${labels['pier.instance']}`);
      return [{ id: 'leftover', labels, running: false, createdAt: 0 }];
    },
    destroy: async (id: string) => void calls.push(`destroy ${id}`),
    start: async (spec: ContainerSpec) => {
      calls.push('start');
      if (options.startError) throw new Error(options.startError);
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

  it('never sends credentials to another registry, and says so when the pull fails', async () => {
    const fake = fakeDriver({ pullError: 'denied' });
    const launcher = new ContainerLauncher(fake.driver, platform({ reg: registryCred }), '127.0.0.1', logger);
    const result = await launcher.launch(
      assignment({ image: 'ghcr.io/acme/web:1', registrySecret: 'reg' }),
      0,
    );
    expect(fake.pulls).toEqual([{ image: 'ghcr.io/acme/web:1' }]);
    expect(result).toEqual({
      ok: false,
      code: 'IMAGE_PULL_FAILED',
      reason:
        'pulling ghcr.io/acme/web:1 failed: denied (registry secret "reg" is for 127.0.0.1:5000, not ghcr.io: not sent)',
    });
  });

  it('does not pull an image that is present, nor read its registry secret', async () => {
    const fake = fakeDriver({ local: ['pier/busybox:latest'] });
    const launcher = new ContainerLauncher(fake.driver, platform({}), '127.0.0.1', logger);
    const result = await launcher.launch(
      assignment({ image: 'pier/busybox:latest', registrySecret: 'reg' }),
      0,
    );
    expect(result.ok).toBe(true);
    expect(fake.pulls).toEqual([]);
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
    const fake = fakeDriver({ local: ['img:1'] });
    const secrets = { db: { kind: 'generic', data: { password: 'pw' } } };
    const launcher = new ContainerLauncher(fake.driver, platform(secrets), '127.0.0.1', logger);
    const spec = { image: 'img:1', env: { A: '1' }, secretEnv: { DB: { secret: 'db', key: 'password' } } };
    const result = await launcher.launch(assignment(spec), 3);
    expect(result.ok).toBe(true);
    expect(fake.calls).toEqual([`list ${INSTANCE}`, 'destroy leftover', 'start']);
    expect(fake.started[0]).toMatchObject({ env: { A: '1', DB: 'pw' }, labels: { 'pier.restarts': '3' } });
  });

  it('reports an engine that cannot start the process as CONTAINER_START_FAILED', async () => {
    const fake = fakeDriver({
      local: ['img:1'],
      startError: 'exec: "nope": executable file not found in $PATH',
    });
    const launcher = new ContainerLauncher(fake.driver, platform({}), '127.0.0.1', logger);
    expect(await launcher.launch(assignment({ image: 'img:1', command: ['nope'] }), 0)).toEqual({
      ok: false,
      code: 'CONTAINER_START_FAILED',
      reason: 'exec: "nope": executable file not found in $PATH',
    });
  });
});
