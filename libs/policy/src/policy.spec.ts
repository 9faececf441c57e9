import { PierError } from '@pier/contracts';
import {
  type ContainerSecurity,
  type PolicyViolationCode,
  POLICY_VIOLATION_CODES,
  containerSecuritySchema,
  enforceContainerPolicy,
  evaluateContainerPolicy,
} from './index';
import { normalizePosixPath } from './posix-path';

const tenant = { platformAdmin: false };
const admin = { platformAdmin: true };

/** A spec that requests every forbidden option once, in evaluation order. */
const everythingForbidden: ContainerSecurity = {
  privileged: true,
  network: 'host',
  pid: 'host',
  ipc: 'host',
  userns: 'host',
  capAdd: ['SYS_ADMIN'],
  devices: ['/dev/fuse'],
  mounts: [
    { type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock' },
    { type: 'bind', source: '/etc', target: '/host-etc', readOnly: true },
  ],
  securityOpt: ['seccomp=unconfined'],
};

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('evaluateContainerPolicy', () => {
  it.each<[string, ContainerSecurity, PolicyViolationCode, string]>([
    ['privileged', { privileged: true }, 'POLICY_PRIVILEGED', 'privileged'],
    ['host network', { network: 'host' }, 'POLICY_HOST_NETWORK', 'network'],
    ['host network, odd spelling', { network: ' HOST ' }, 'POLICY_HOST_NETWORK', 'network'],
    [
      'shared network namespace',
      { network: 'container:4f2a9c' },
      'POLICY_SHARED_NETWORK_NAMESPACE',
      'network',
    ],
    ['host PID namespace', { pid: 'host' }, 'POLICY_HOST_PID', 'pid'],
    ['host IPC namespace', { ipc: 'host' }, 'POLICY_HOST_IPC', 'ipc'],
    ['host user namespace', { userns: 'host' }, 'POLICY_HOST_USERNS', 'userns'],
    ['added capability', { capAdd: ['NET_ADMIN'] }, 'POLICY_ADDED_CAPABILITY', 'capAdd[0]'],
    ['added capability, CAP_ prefix', { capAdd: ['CAP_SYS_ADMIN'] }, 'POLICY_ADDED_CAPABILITY', 'capAdd[0]'],
    ['host device', { devices: ['/dev/fuse'] }, 'POLICY_HOST_DEVICE', 'devices[0]'],
    [
      'Docker socket',
      { mounts: [{ type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock' }] },
      'POLICY_DOCKER_SOCKET',
      'mounts[0].source',
    ],
    [
      'Docker socket under /run',
      { mounts: [{ type: 'bind', source: '/run/docker.sock', target: '/docker.sock', readOnly: true }] },
      'POLICY_DOCKER_SOCKET',
      'mounts[0].source',
    ],
    [
      'host path bind mount',
      { mounts: [{ type: 'bind', source: '/etc', target: '/host-etc', readOnly: true }] },
      'POLICY_HOST_PATH_MOUNT',
      'mounts[0].source',
    ],
    [
      'bind mount without a source',
      { mounts: [{ type: 'bind', target: '/data' }] },
      'POLICY_HOST_PATH_MOUNT',
      'mounts[0]',
    ],
    [
      'volume named like a host path',
      { mounts: [{ type: 'volume', source: '/srv/data', target: '/data' }] },
      'POLICY_HOST_PATH_MOUNT',
      'mounts[0].source',
    ],
    [
      'volume named like the Docker socket',
      { mounts: [{ type: 'volume', source: '/run/docker.sock', target: '/docker.sock' }] },
      'POLICY_DOCKER_SOCKET',
      'mounts[0].source',
    ],
    ['seccomp=unconfined', { securityOpt: ['seccomp=unconfined'] }, 'POLICY_UNCONFINED', 'securityOpt[0]'],
    ['seccomp:unconfined', { securityOpt: ['seccomp:unconfined'] }, 'POLICY_UNCONFINED', 'securityOpt[0]'],
    ['apparmor=unconfined', { securityOpt: ['apparmor=unconfined'] }, 'POLICY_UNCONFINED', 'securityOpt[0]'],
    ['apparmor:unconfined', { securityOpt: ['apparmor:unconfined'] }, 'POLICY_UNCONFINED', 'securityOpt[0]'],
    ['label=disable', { securityOpt: ['label=disable'] }, 'POLICY_UNCONFINED', 'securityOpt[0]'],
    ['label:disable', { securityOpt: ['label:disable'] }, 'POLICY_UNCONFINED', 'securityOpt[0]'],
    [
      'systempaths=unconfined',
      { securityOpt: ['systempaths=unconfined'] },
      'POLICY_UNCONFINED',
      'securityOpt[0]',
    ],
    [
      'systempaths:unconfined',
      { securityOpt: ['systempaths:unconfined'] },
      'POLICY_UNCONFINED',
      'securityOpt[0]',
    ],
  ])('refuses %s', (_name, spec, code, option) => {
    const violations = evaluateContainerPolicy(spec, tenant);
    expect(violations).toEqual([{ code, option, message: expect.stringContaining(option) }]);
    expect(violations[0]!.message).toMatch(/platform admins/);
  });

  it('reports one violation per added capability and names each', () => {
    const violations = evaluateContainerPolicy({ capAdd: ['NET_ADMIN', 'cap_sys_ptrace', 'ALL'] }, tenant);
    expect(violations.map((v) => [v.code, v.option])).toEqual([
      ['POLICY_ADDED_CAPABILITY', 'capAdd[0]'],
      ['POLICY_ADDED_CAPABILITY', 'capAdd[1]'],
      ['POLICY_ADDED_CAPABILITY', 'capAdd[2]'],
    ]);
    expect(violations[0]!.message).toContain('CAP_NET_ADMIN');
    expect(violations[1]!.message).toContain('CAP_SYS_PTRACE');
    expect(violations[2]!.message).toContain('ALL');
  });

  it('names each host device', () => {
    const violations = evaluateContainerPolicy({ devices: ['/dev/fuse', '/dev/kvm'] }, tenant);
    expect(violations.map((v) => v.option)).toEqual(['devices[0]', 'devices[1]']);
    expect(violations[0]!.message).toContain('/dev/fuse');
    expect(violations[1]!.message).toContain('/dev/kvm');
  });

  it('points at the offending mount by index', () => {
    const violations = evaluateContainerPolicy(
      {
        mounts: [
          { type: 'volume', source: 'data', target: '/data' },
          { type: 'bind', source: '/run/docker.sock', target: '/docker.sock' },
          { type: 'tmpfs', target: '/tmp' },
          { type: 'bind', source: '/home', target: '/home' },
        ],
      },
      tenant,
    );
    expect(violations.map((v) => [v.code, v.option])).toEqual([
      ['POLICY_SHARED_VOLUME', 'mounts[0].source'],
      ['POLICY_DOCKER_SOCKET', 'mounts[1].source'],
      ['POLICY_HOST_PATH_MOUNT', 'mounts[3].source'],
    ]);
  });

  it('reports every violation at once, in a stable order', () => {
    const violations = evaluateContainerPolicy(everythingForbidden, tenant);
    expect(violations.map((v) => [v.code, v.option])).toEqual([
      ['POLICY_PRIVILEGED', 'privileged'],
      ['POLICY_HOST_NETWORK', 'network'],
      ['POLICY_HOST_PID', 'pid'],
      ['POLICY_HOST_IPC', 'ipc'],
      ['POLICY_HOST_USERNS', 'userns'],
      ['POLICY_ADDED_CAPABILITY', 'capAdd[0]'],
      ['POLICY_HOST_DEVICE', 'devices[0]'],
      ['POLICY_DOCKER_SOCKET', 'mounts[0].source'],
      ['POLICY_HOST_PATH_MOUNT', 'mounts[1].source'],
      ['POLICY_UNCONFINED', 'securityOpt[0]'],
    ]);
  });

  it('lets a platform admin request anything', () => {
    expect(evaluateContainerPolicy(everythingForbidden, admin)).toEqual([]);
    expect(
      evaluateContainerPolicy(
        { network: 'container:4f2a9c', capAdd: ['ALL'], securityOpt: ['label:disable'] },
        admin,
      ),
    ).toEqual([]);
    expect(() => enforceContainerPolicy(everythingForbidden, admin)).not.toThrow();
  });

  it.each<[string, ContainerSecurity]>([
    ['an empty spec', {}],
    ['the bridge network', { network: 'bridge' }],
    ['no network', { network: 'none' }],
    ['privileged: false', { privileged: false }],
    ['private namespaces', { pid: 'private', ipc: 'shareable', userns: 'default' }],
    ['empty lists', { capAdd: [], devices: [], mounts: [], securityOpt: [] }],
    [
      'anonymous volumes and tmpfs mounts',
      {
        mounts: [
          { type: 'volume', target: '/cache' },
          { type: 'tmpfs', target: '/tmp' },
        ],
      },
    ],
    ['confining security options', { securityOpt: ['no-new-privileges:true', 'apparmor=docker-default'] }],
  ])('allows %s', (_name, spec) => {
    expect(evaluateContainerPolicy(spec, tenant)).toEqual([]);
    expect(() => enforceContainerPolicy(spec, tenant)).not.toThrow();
  });

  it.each<[string, ContainerSecurity, string]>([
    ['another space’s network', { network: 'pier-victim' }, 'POLICY_SHARED_NETWORK_NAMESPACE'],
    [
      'a named volume',
      { mounts: [{ type: 'volume', source: 'pgdata', target: '/data' }] },
      'POLICY_SHARED_VOLUME',
    ],
    [
      'a seccomp profile of its own',
      { securityOpt: ['seccomp=/etc/profiles/allow-all.json'] },
      'POLICY_UNCONFINED',
    ],
    [
      'an inline seccomp profile',
      { securityOpt: ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}'] },
      'POLICY_UNCONFINED',
    ],
    ['an AppArmor profile of its own', { securityOpt: ['apparmor=my-loose-profile'] }, 'POLICY_UNCONFINED'],
    ['an SELinux type', { securityOpt: ['label=type:spc_t'] }, 'POLICY_UNCONFINED'],
  ])('refuses %s to a tenant', (_name, spec, code) => {
    expect(evaluateContainerPolicy(spec, tenant).map((v) => v.code)).toEqual([code]);
    expect(evaluateContainerPolicy(spec, admin)).toEqual([]);
  });

  it.each([
    '/var/run/../run/docker.sock',
    '/var/run/docker.sock/',
    '/run/docker.sock//',
    '//var//run///docker.sock',
    '/var/./run/./docker.sock',
    '/../../run/docker.sock',
    '/run/containerd/../docker.sock',
    '/etc/../var/run/docker.sock',
  ])('sees through the Docker socket path trick %s', (source) => {
    const violations = evaluateContainerPolicy(
      { mounts: [{ type: 'bind', source, target: '/var/run/docker.sock' }] },
      tenant,
    );
    expect(violations).toEqual([
      { code: 'POLICY_DOCKER_SOCKET', option: 'mounts[0].source', message: expect.stringContaining(source) },
    ]);
  });

  it.each(['/var/run/docker.sock.bak', '/run/docker', '/var/run/docker.sock/../other.sock'])(
    'does not mistake %s for the Docker socket, but still refuses the host path',
    (source) => {
      const violations = evaluateContainerPolicy(
        { mounts: [{ type: 'bind', source, target: '/x' }] },
        tenant,
      );
      expect(violations.map((v) => v.code)).toEqual(['POLICY_HOST_PATH_MOUNT']);
    },
  );
});

describe('enforceContainerPolicy', () => {
  it('throws a PierError with the first violation and lists them all', () => {
    const spec: ContainerSecurity = {
      network: 'container:db',
      capAdd: ['NET_RAW'],
      mounts: [{ type: 'bind', source: '/run/docker.sock/', target: '/run/docker.sock' }],
    };
    const error = thrown(() => enforceContainerPolicy(spec, tenant));
    expect(error).toBeInstanceOf(PierError);
    const pierError = error as PierError;
    expect(pierError.code).toBe('POLICY_SHARED_NETWORK_NAMESPACE');
    expect(pierError.message).toBe(evaluateContainerPolicy(spec, tenant)[0]!.message);
    expect(pierError.details).toEqual({
      violations: [
        expect.objectContaining({ code: 'POLICY_SHARED_NETWORK_NAMESPACE', option: 'network' }),
        expect.objectContaining({ code: 'POLICY_ADDED_CAPABILITY', option: 'capAdd[0]' }),
        expect.objectContaining({ code: 'POLICY_DOCKER_SOCKET', option: 'mounts[0].source' }),
      ],
    });
    expect(pierError.toBody().code).toBe('POLICY_SHARED_NETWORK_NAMESPACE');
  });

  it('does not throw for an allowed spec', () => {
    expect(thrown(() => enforceContainerPolicy({ network: 'bridge' }, tenant))).toBeUndefined();
  });
});

describe('POLICY_VIOLATION_CODES', () => {
  it('are unique and namespaced', () => {
    expect(new Set(POLICY_VIOLATION_CODES).size).toBe(POLICY_VIOLATION_CODES.length);
    for (const code of POLICY_VIOLATION_CODES) expect(code).toMatch(/^POLICY_[A-Z_]+$/);
  });
});

describe('containerSecuritySchema', () => {
  it('accepts a full spec', () => {
    const result = containerSecuritySchema.safeParse(everythingForbidden);
    expect(result.success).toBe(true);
  });

  it('rejects unknown keys', () => {
    const result = containerSecuritySchema.safeParse({ network: 'bridge', cgroupns: 'host' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['cgroupns'] });
  });

  it('rejects unknown keys inside a mount', () => {
    const result = containerSecuritySchema.safeParse({
      mounts: [{ type: 'volume', source: 'data', target: '/data', bindOptions: { propagation: 'shared' } }],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', path: ['mounts', 0] });
  });

  it('rejects an unknown mount type', () => {
    expect(containerSecuritySchema.safeParse({ mounts: [{ type: 'npipe', target: '/x' }] }).success).toBe(
      false,
    );
  });
});

describe('normalizePosixPath', () => {
  it.each([
    ['/var/run/../run/docker.sock', '/var/run/docker.sock'],
    ['/run/docker.sock/', '/run/docker.sock'],
    ['//a//b///c', '/a/b/c'],
    ['/a/./b/.', '/a/b'],
    ['/../..', '/'],
    ['/', '/'],
    ['a/../../b', '../b'],
    ['./', '.'],
    ['', '.'],
  ])('%s → %s', (input, expected) => {
    expect(normalizePosixPath(input)).toBe(expected);
  });
});

describe('namespaces of other containers', () => {
  it.each(['pid', 'ipc'] as const)('refuses %s: container:<id> with POLICY_SHARED_NAMESPACE', (option) => {
    expect(evaluateContainerPolicy({ [option]: 'container:abc123' }, { platformAdmin: false })).toEqual([
      expect.objectContaining({ code: 'POLICY_SHARED_NAMESPACE', option }),
    ]);
  });
});
