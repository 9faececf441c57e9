import { versionSpecSchema } from '@pier/contracts';
import { DROPPED_DEFAULT_CAPABILITIES } from './container-hardening';
import { containerLabels, containerName, readLabels } from './container-labels';
import {
  containerSpec,
  credentialsApply,
  registryOf,
  requestedSecurityOptions,
  resolveEnv,
} from './container-spec';

const assignment = {
  nodeId: '11111111-1111-4111-8111-111111111111',
  instanceId: 'abcdef12-3456-4789-8abc-def012345678',
  space: 'acme',
  app: 'web',
  version: 7,
  spec: versionSpecSchema.parse({
    image: 'registry.example.com/acme/web:1',
    command: ['httpd'],
    env: { MODE: 'prod' },
    ports: [{ containerPort: 8080 }, { containerPort: 53, protocol: 'udp' }],
    resources: { cpu: 500, memory: 128 },
  }),
};

describe('container spec', () => {
  it('names and labels the container after its instance, node and restart count', () => {
    expect(containerName(assignment)).toBe('pier-acme-web-v7-abcdef12');
    const labels = containerLabels(assignment, 4);
    expect(labels).toEqual({
      'pier.managed': 'true',
      'pier.node': assignment.nodeId,
      'pier.instance': assignment.instanceId,
      'pier.space': 'acme',
      'pier.app': 'web',
      'pier.version': '7',
      'pier.restarts': '4',
    });
    expect(readLabels(labels)).toEqual({ instanceId: assignment.instanceId, restarts: 4 });
    expect(readLabels({ 'pier.restarts': 'x' })).toEqual({ instanceId: null, restarts: 0 });
  });

  it('keeps command and args apart (ENTRYPOINT and CMD), limits and ports (http published as tcp)', () => {
    const spec = containerSpec(assignment, { restarts: 0, env: { A: '1' }, publishHost: '127.0.0.1' });
    expect(spec).toMatchObject({
      image: 'registry.example.com/acme/web:1',
      command: ['httpd'],
      env: { A: '1' },
      cpuMillicores: 500,
      memoryMiB: 128,
      ports: [
        { containerPort: 8080, protocol: 'tcp' },
        { containerPort: 53, protocol: 'udp' },
      ],
      publishHost: '127.0.0.1',
    });
    expect(spec).not.toHaveProperty('args');
  });

  it('puts the container on its space’s network, hardened and limited (node defaults unless given)', () => {
    const spec = containerSpec(assignment, { restarts: 0, env: {}, publishHost: '127.0.0.1' });
    expect(spec.network).toEqual({
      name: 'pier-acme',
      labels: { 'pier.managed': 'true', 'pier.space': 'acme' },
      aliases: ['web', assignment.instanceId],
    });
    expect(spec.security.noNewPrivileges).toBe(true);
    expect(spec.security.capDrop).toEqual(['ALL']);
    expect(spec.security.capAdd).not.toContain('NET_RAW');
    for (const dropped of DROPPED_DEFAULT_CAPABILITIES) expect(spec.security.capAdd).not.toContain(dropped);
    expect(spec).toMatchObject({ pidsLimit: 1024, logs: { maxSize: '10m', maxFiles: 3 } });
    const limits = { pidsLimit: 64, logMaxSize: '1m', logMaxFiles: 1 };
    expect(containerSpec(assignment, { restarts: 0, env: {}, publishHost: 'x', limits })).toMatchObject({
      pidsLimit: 64,
      logs: { maxSize: '1m', maxFiles: 1 },
    });
  });
});

describe('resolveEnv', () => {
  const secretEnv = { DB_PASSWORD: { secret: 'db', key: 'password' } };

  it('adds secret values to the plain environment', () => {
    const revealed = new Map([['db', { kind: 'generic', data: { password: 's3cret' } }]]);
    expect(resolveEnv({ MODE: 'prod' }, secretEnv, revealed)).toEqual({
      ok: true,
      env: { MODE: 'prod', DB_PASSWORD: 's3cret' },
    });
  });

  it('fails on a missing secret, a missing key or a secret of another kind', () => {
    expect(resolveEnv({}, secretEnv, new Map())).toEqual({
      ok: false,
      reason: 'secret "db" (for DB_PASSWORD) is not available',
    });
    expect(resolveEnv({}, secretEnv, new Map([['db', { kind: 'generic', data: { user: 'x' } }]]))).toEqual({
      ok: false,
      reason: 'secret "db" has no key "password" (for DB_PASSWORD)',
    });
    expect(
      resolveEnv(
        {},
        { X: { secret: 'db', key: 'toString' } },
        new Map([['db', { kind: 'generic', data: {} }]]),
      ),
    ).toMatchObject({ ok: false });
    expect(resolveEnv({}, secretEnv, new Map([['db', { kind: 'registry', server: 'x' }]]))).toEqual({
      ok: false,
      reason: 'secret "db" (for DB_PASSWORD) is not a generic secret',
    });
  });
});

describe('registries', () => {
  it('finds the registry of an image by Docker’s rules', () => {
    expect(registryOf('busybox')).toBe('docker.io');
    expect(registryOf('library/busybox:1')).toBe('docker.io');
    expect(registryOf('docker.io/library/busybox')).toBe('docker.io');
    expect(registryOf('127.0.0.1:5000/acme/web:1')).toBe('127.0.0.1:5000');
    expect(registryOf('localhost/web')).toBe('localhost');
    expect(registryOf('ghcr.io/acme/web@sha256:' + 'a'.repeat(64))).toBe('ghcr.io');
  });

  it('sends credentials only to their own registry', () => {
    expect(credentialsApply('127.0.0.1:5000', '127.0.0.1:5000/acme/web:1')).toBe(true);
    expect(credentialsApply('index.docker.io', 'acme/web')).toBe(true);
    expect(credentialsApply('127.0.0.1:5000', 'ghcr.io/acme/web')).toBe(false);
    expect(credentialsApply('ghcr.io', 'acme/web')).toBe(false);
  });
});

describe('requestedSecurityOptions', () => {
  it('lists options beyond the defaults only', () => {
    expect(requestedSecurityOptions(undefined)).toEqual([]);
    expect(requestedSecurityOptions({ privileged: false, capAdd: [], mounts: undefined })).toEqual([]);
    expect(
      requestedSecurityOptions({ privileged: true, capAdd: ['NET_ADMIN'], network: 'none', devices: [] }),
    ).toEqual(['capAdd', 'network', 'privileged']);
    // Every container runs with no-new-privileges: a spec asking for it is served as it is.
    expect(
      requestedSecurityOptions({ securityOpt: ['no-new-privileges:true', 'no-new-privileges'] }),
    ).toEqual([]);
    expect(
      requestedSecurityOptions({ securityOpt: ['no-new-privileges', 'apparmor=docker-default'] }),
    ).toEqual(['securityOpt']);
  });
});
