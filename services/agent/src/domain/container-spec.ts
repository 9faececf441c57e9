import {
  CONTAINER_SECURITY,
  type ContainerSecurity,
  DEFAULT_CONTAINER_LIMITS,
  type NodeContainerLimits,
} from './container-hardening';
import {
  type Assignment,
  containerLabels,
  containerName,
  networkAliases,
  type SpaceNetwork,
  spaceNetwork,
} from './container-labels';

/** What the driver creates: everything is decided here, the driver only translates it for its engine. */
export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
  /** Replaces the image's ENTRYPOINT when set (Kubernetes `command`). */
  readonly command?: readonly string[];
  /** Replaces the image's CMD when set (Kubernetes `args`). */
  readonly args?: readonly string[];
  readonly cpuMillicores: number;
  readonly memoryMiB: number;
  /** Published on `publishHost` with a host port the engine chooses. */
  readonly ports: readonly { containerPort: number; protocol: 'tcp' | 'udp' }[];
  readonly publishHost: string;
  /** The space's own network (created on demand) and the names the container has on it. */
  readonly network: SpaceNetwork & { readonly aliases: readonly string[] };
  readonly security: ContainerSecurity;
  /** Most processes and threads of the container. */
  readonly pidsLimit: number;
  /** Log rotation of the container's output. */
  readonly logs: { readonly maxSize: string; readonly maxFiles: number };
}

export function containerSpec(
  assignment: Assignment,
  options: {
    restarts: number;
    env: Readonly<Record<string, string>>;
    publishHost: string;
    limits?: NodeContainerLimits;
  },
): ContainerSpec {
  const { spec } = assignment;
  const limits = options.limits ?? DEFAULT_CONTAINER_LIMITS;
  return {
    name: containerName(assignment),
    image: spec.image,
    labels: containerLabels(assignment, options.restarts),
    env: options.env,
    ...(spec.command ? { command: spec.command } : {}),
    ...(spec.args ? { args: spec.args } : {}),
    cpuMillicores: spec.resources.cpu,
    memoryMiB: spec.resources.memory,
    ports: spec.ports.map((p) => ({
      containerPort: p.containerPort,
      protocol: p.protocol === 'udp' ? 'udp' : 'tcp',
    })),
    publishHost: options.publishHost,
    network: { ...spaceNetwork(assignment.space), aliases: networkAliases(assignment) },
    security: CONTAINER_SECURITY,
    pidsLimit: limits.pidsLimit,
    logs: { maxSize: limits.logMaxSize, maxFiles: limits.logMaxFiles },
  };
}

export type SecretEnvResult =
  | { readonly ok: true; readonly env: Record<string, string> }
  | { readonly ok: false; readonly reason: string };

/**
 * `spec.env` plus every `spec.secretEnv` entry read from the revealed secrets (name → value as
 * revealed). A secret that could not be revealed, is not a generic secret or lacks the key fails the
 * whole environment: an instance never starts with a variable silently missing.
 */
export function resolveEnv(
  env: Readonly<Record<string, string>>,
  secretEnv: Readonly<Record<string, { secret: string; key: string }>>,
  revealed: ReadonlyMap<string, unknown>,
): SecretEnvResult {
  const out: Record<string, string> = { ...env };
  for (const [name, ref] of Object.entries(secretEnv)) {
    const value = revealed.get(ref.secret) as { kind?: unknown; data?: unknown } | undefined;
    if (!value) return { ok: false, reason: `secret "${ref.secret}" (for ${name}) is not available` };
    if (value.kind !== 'generic' || typeof value.data !== 'object' || value.data === null) {
      return { ok: false, reason: `secret "${ref.secret}" (for ${name}) is not a generic secret` };
    }
    const data = value.data as Record<string, unknown>;
    const entry = Object.prototype.hasOwnProperty.call(data, ref.key) ? data[ref.key] : undefined;
    if (typeof entry !== 'string') {
      return { ok: false, reason: `secret "${ref.secret}" has no key "${ref.key}" (for ${name})` };
    }
    out[name] = entry;
  }
  return { ok: true, env: out };
}

const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** The registry host[:port] an image reference pulls from, by Docker's rules (`docker.io` by default). */
export function registryOf(image: string): string {
  const slash = image.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = image.slice(0, slash);
  const isHost = first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[');
  return isHost ? (DOCKER_HUB.has(first) ? 'docker.io' : first) : 'docker.io';
}

/** Whether credentials for `server` belong to the registry of `image`: they are never sent elsewhere. */
export function credentialsApply(server: string, image: string): boolean {
  const normalized = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  const target = DOCKER_HUB.has(normalized) ? 'docker.io' : normalized;
  return target === registryOf(image);
}

/** `securityOpt` values every container gets anyway (`CONTAINER_SECURITY`): asking for them asks nothing. */
const ALWAYS_APPLIED = new Set(['no-new-privileges', 'no-new-privileges=true', 'no-new-privileges:true']);

/**
 * The security options a spec asks for beyond the defaults (anything but absent, `false` or an empty
 * list, and `securityOpt` entries every container gets anyway). This agent does not apply any yet, and
 * must not run such an instance as if they had been applied.
 */
export function requestedSecurityOptions(security: Readonly<Record<string, unknown>> | undefined): string[] {
  return Object.entries(security ?? {})
    .map(([k, v]): [string, unknown] =>
      k === 'securityOpt' && Array.isArray(v) ? [k, v.filter((o) => !ALWAYS_APPLIED.has(String(o)))] : [k, v],
    )
    .filter(([, v]) => v !== undefined && v !== null && v !== false && !(Array.isArray(v) && v.length === 0))
    .map(([k]) => k)
    .sort();
}
