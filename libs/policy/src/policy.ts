import { PierError } from '@pier/contracts';
import type { ContainerMount, ContainerSecurity } from './container-security';
import { normalizePosixPath } from './posix-path';

/**
 * Every reason a container option can be refused. These are also error codes of the public API (422), so
 * each one must appear in `ERROR_CODES` of `@pier/contracts`.
 */
export const POLICY_VIOLATION_CODES = [
  'POLICY_PRIVILEGED',
  'POLICY_HOST_NETWORK',
  'POLICY_SHARED_NETWORK_NAMESPACE',
  'POLICY_SHARED_NAMESPACE',
  'POLICY_HOST_PID',
  'POLICY_HOST_IPC',
  'POLICY_HOST_USERNS',
  'POLICY_ADDED_CAPABILITY',
  'POLICY_HOST_DEVICE',
  'POLICY_DOCKER_SOCKET',
  'POLICY_HOST_PATH_MOUNT',
  'POLICY_SHARED_VOLUME',
  'POLICY_UNCONFINED',
] as const;

export type PolicyViolationCode = (typeof POLICY_VIOLATION_CODES)[number];

/** One forbidden option of a container spec. */
export interface PolicyViolation {
  readonly code: PolicyViolationCode;
  /** Where the option is in the spec, JSON-path-like: `privileged`, `capAdd[0]`, `mounts[1].source`. */
  readonly option: string;
  /** Human readable: names the option and why it is refused. */
  readonly message: string;
}

/** Who is asking. Platform admins operate the installation and may request anything. */
export interface PolicySubject {
  readonly platformAdmin: boolean;
}

/** The paths of the Docker daemon socket; access to it is root on the host. */
const DOCKER_SOCKET_PATHS: ReadonlySet<string> = new Set(['/var/run/docker.sock', '/run/docker.sock']);

/** `securityOpt` values that switch off a confinement mechanism, keyed by option name. */
const UNCONFINING_SECURITY_OPTS: Readonly<Record<string, string>> = {
  seccomp: 'unconfined',
  apparmor: 'unconfined',
  systempaths: 'unconfined',
  label: 'disable',
};

const ADMIN_ONLY = 'only platform admins may request it';

/** Network modes a tenant may ask for: the platform's own network of the space, or none. */
const TENANT_NETWORKS: ReadonlySet<string> = new Set(['bridge', 'default', 'none']);

/** `securityOpt` values that only ever confine more than Docker's defaults. */
const CONFINING_SECURITY_OPTS: ReadonlySet<string> = new Set([
  'no-new-privileges',
  'no-new-privileges=true',
  'no-new-privileges:true',
  'apparmor=docker-default',
  'apparmor:docker-default',
]);

/**
 * Decides which options of a container spec the subject may not request. Pure. Returns one violation
 * per forbidden option, in a stable order (privileged, network, pid, ipc, userns, capAdd, devices, mounts,
 * securityOpt; arrays in index order); an empty array means the spec is allowed.
 *
 * Mode values (`network`, `pid`, …) are compared trimmed and case-insensitively: a spelling Docker would
 * not treat as `host` is refused too, which only errs on the safe side.
 */
export function evaluateContainerPolicy(spec: ContainerSecurity, subject: PolicySubject): PolicyViolation[] {
  if (subject.platformAdmin === true) return [];
  const violations: PolicyViolation[] = [];
  const add = (code: PolicyViolationCode, option: string, message: string) =>
    violations.push({ code, option, message });

  if (spec.privileged === true) {
    add(
      'POLICY_PRIVILEGED',
      'privileged',
      `privileged: a privileged container gets every capability and every host device and can take over the host; ${ADMIN_ONLY}`,
    );
  }

  if (spec.network !== undefined) {
    const network = mode(spec.network);
    if (network === 'host') {
      add(
        'POLICY_HOST_NETWORK',
        'network',
        `network: "host" shares the host's network stack (every interface and port of the node); ${ADMIN_ONLY}`,
      );
    } else if (network.startsWith('container:')) {
      add(
        'POLICY_SHARED_NETWORK_NAMESPACE',
        'network',
        `network: "${spec.network}" joins the network namespace of another container, which may belong to someone else; ${ADMIN_ONLY}`,
      );
    } else if (!TENANT_NETWORKS.has(network)) {
      // Each space has a network of its own, chosen by the platform: naming another one (another
      // space's, say) would join the containers on it.
      add(
        'POLICY_SHARED_NETWORK_NAMESPACE',
        'network',
        `network: "${spec.network}" names a network other containers may be on, another space's among them; ${ADMIN_ONLY}`,
      );
    }
  }

  if (spec.pid !== undefined && mode(spec.pid) === 'host') {
    add(
      'POLICY_HOST_PID',
      'pid',
      `pid: "host" lets the container see and signal every process of the node; ${ADMIN_ONLY}`,
    );
  } else if (spec.pid !== undefined && mode(spec.pid).startsWith('container:')) {
    add(
      'POLICY_SHARED_NAMESPACE',
      'pid',
      `pid: "${spec.pid}" joins the process namespace of another container, which may belong to someone else; ${ADMIN_ONLY}`,
    );
  }

  if (spec.ipc !== undefined && mode(spec.ipc) === 'host') {
    add(
      'POLICY_HOST_IPC',
      'ipc',
      `ipc: "host" shares the node's shared memory and IPC objects with the container; ${ADMIN_ONLY}`,
    );
  } else if (spec.ipc !== undefined && mode(spec.ipc).startsWith('container:')) {
    add(
      'POLICY_SHARED_NAMESPACE',
      'ipc',
      `ipc: "${spec.ipc}" joins the IPC namespace of another container, which may belong to someone else; ${ADMIN_ONLY}`,
    );
  }

  if (spec.userns !== undefined && mode(spec.userns) === 'host') {
    add(
      'POLICY_HOST_USERNS',
      'userns',
      `userns: "host" disables user-namespace remapping, so root in the container is root on the node; ${ADMIN_ONLY}`,
    );
  }

  spec.capAdd?.forEach((capability, i) => {
    add(
      'POLICY_ADDED_CAPABILITY',
      `capAdd[${i}]`,
      `capAdd[${i}]: adding the Linux capability ${capabilityName(capability)} widens what the container may do to the kernel; ${ADMIN_ONLY}`,
    );
  });

  spec.devices?.forEach((device, i) => {
    add(
      'POLICY_HOST_DEVICE',
      `devices[${i}]`,
      `devices[${i}]: exposing the host device "${device}" gives the container direct access to the node's hardware or kernel; ${ADMIN_ONLY}`,
    );
  });

  spec.mounts?.forEach((mount, i) => {
    const violation = mountViolation(mount, i);
    if (violation) violations.push(violation);
  });

  spec.securityOpt?.forEach((opt, i) => {
    if (isUnconfining(opt)) {
      add(
        'POLICY_UNCONFINED',
        `securityOpt[${i}]`,
        `securityOpt[${i}]: "${opt}" switches off a confinement mechanism (seccomp, AppArmor, SELinux labels or masked system paths); ${ADMIN_ONLY}`,
      );
    } else if (!isKnownConfining(opt)) {
      add(
        'POLICY_UNCONFINED',
        `securityOpt[${i}]`,
        `securityOpt[${i}]: "${opt}" chooses a custom profile or label, which can confine as little as "unconfined"; only no-new-privileges and apparmor=docker-default are open to tenants; ${ADMIN_ONLY}`,
      );
    }
  });

  return violations;
}

/**
 * Throws when the subject may not request the spec: a `PierError` with the first violation's code and
 * message, and every violation in `details.violations`.
 */
export function enforceContainerPolicy(spec: ContainerSecurity, subject: PolicySubject): void {
  const violations = evaluateContainerPolicy(spec, subject);
  const first = violations[0];
  if (!first) return;
  // The POLICY_* codes are not in ERROR_CODES yet; remove the cast once they are.
  throw new PierError(first.code, first.message, { violations });
}

function mode(value: string): string {
  return value.trim().toLowerCase();
}

/** `sys_admin`, `CAP_SYS_ADMIN` → `CAP_SYS_ADMIN`; `all` → `ALL (every capability)`. */
function capabilityName(capability: string): string {
  const name = capability.trim().toUpperCase().replace(/^CAP_/, '');
  return name === 'ALL' ? 'ALL (every capability)' : `CAP_${name}`;
}

function isKnownConfining(opt: string): boolean {
  return CONFINING_SECURITY_OPTS.has(opt.trim().toLowerCase());
}

/**
 * Docker splits a security option on the first `=`, or, if there is none, on the first `:`
 * (`seccomp=unconfined`, `seccomp:unconfined`).
 */
function isUnconfining(opt: string): boolean {
  const trimmed = opt.trim();
  const separator = trimmed.includes('=') ? '=' : ':';
  const at = trimmed.indexOf(separator);
  if (at < 0) return false;
  const key = trimmed.slice(0, at).trim().toLowerCase();
  const value = trimmed
    .slice(at + 1)
    .trim()
    .toLowerCase();
  return Object.hasOwn(UNCONFINING_SECURITY_OPTS, key) && UNCONFINING_SECURITY_OPTS[key] === value;
}

/**
 * Bind mounts expose the host's filesystem. A volume whose "name" contains a `/` is a host path in
 * disguise (Docker volume names never contain one, and a `source:target` bind string would mount it from
 * the host), so it is judged as a bind mount. A named volume is one per node, shared by every container
 * that names it — any space's; tmpfs mounts and anonymous volumes (no source) are the container's own.
 */
function mountViolation(mount: ContainerMount, i: number): PolicyViolation | undefined {
  const hostPath = mount.type === 'bind' || (mount.type === 'volume' && mount.source?.includes('/') === true);
  if (!hostPath && mount.type === 'volume' && mount.source !== undefined) {
    return {
      code: 'POLICY_SHARED_VOLUME',
      option: `mounts[${i}].source`,
      message: `mounts[${i}].source: the named volume "${mount.source}" is shared by every container on the node that names it, another space's too; ${ADMIN_ONLY}`,
    };
  }
  if (!hostPath) return undefined;
  if (mount.source === undefined) {
    return {
      code: 'POLICY_HOST_PATH_MOUNT',
      option: `mounts[${i}]`,
      message: `mounts[${i}]: a bind mount exposes a path of the node's filesystem to the container; ${ADMIN_ONLY}`,
    };
  }
  const option = `mounts[${i}].source`;
  if (DOCKER_SOCKET_PATHS.has(normalizePosixPath(mount.source))) {
    return {
      code: 'POLICY_DOCKER_SOCKET',
      option,
      message: `${option}: "${mount.source}" is the Docker daemon socket; access to it is root on the node; ${ADMIN_ONLY}`,
    };
  }
  return {
    code: 'POLICY_HOST_PATH_MOUNT',
    option,
    message: `${option}: mounting the host path "${mount.source}" exposes the node's filesystem to the container; ${ADMIN_ONLY}`,
  };
}
