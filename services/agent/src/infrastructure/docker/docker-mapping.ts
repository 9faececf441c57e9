import type Docker from 'dockerode';
import { type ContainerSpec } from '../../domain/container-spec';
import { type ContainerState, type PublishedPort } from '../../application/ports';

const MiB = 1024 * 1024;

/**
 * A `ContainerSpec` as Docker's create-container request, attached to the space's network by its id
 * (names of networks are not unique in Docker).
 */
export function createOptions(spec: ContainerSpec, networkId: string): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of spec.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    // An empty host port lets Docker choose a free one; only the node itself can reach it.
    bindings[key] = [{ HostIp: spec.publishHost, HostPort: '' }];
  }
  return {
    name: spec.name,
    Image: spec.image,
    Labels: { ...spec.labels },
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    // Docker's own merge gives Kubernetes semantics: an explicit ENTRYPOINT drops the image's CMD.
    ...(spec.command ? { Entrypoint: [...spec.command] } : {}),
    ...(spec.args ? { Cmd: [...spec.args] } : {}),
    ExposedPorts: exposed,
    HostConfig: {
      NanoCpus: spec.cpuMillicores * 1_000_000,
      Memory: spec.memoryMiB * MiB,
      // No swap beyond the limit: the memory limit is the limit.
      MemorySwap: spec.memoryMiB * MiB,
      PortBindings: bindings,
      // The agent restarts containers itself, with back-off and events; Docker must not.
      RestartPolicy: { Name: 'no' },
      AutoRemove: false,
      NetworkMode: networkId,
      SecurityOpt: spec.security.noNewPrivileges ? ['no-new-privileges'] : [],
      CapDrop: [...spec.security.capDrop],
      CapAdd: [...spec.security.capAdd],
      PidsLimit: spec.pidsLimit,
      // json-file rotated by the engine: a chatty container cannot fill the node's disk.
      LogConfig: {
        Type: 'json-file',
        Config: { 'max-size': spec.logs.maxSize, 'max-file': String(spec.logs.maxFiles) },
      },
    },
    NetworkingConfig: { EndpointsConfig: { [networkId]: { Aliases: [...spec.network.aliases] } } },
  };
}

/** Docker's "never" is year 1. */
function time(value: string | undefined): number | null {
  if (!value || value.startsWith('0001-')) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

function publishedPorts(
  ports: Docker.ContainerInspectInfo['NetworkSettings']['Ports'] | null,
): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const [port, protocol] = key.split('/');
    const hostPort = Number(bindings?.[0]?.HostPort);
    if (!hostPort || (protocol !== 'tcp' && protocol !== 'udp')) continue;
    out.push({ containerPort: Number(port), protocol, hostPort });
  }
  return out;
}

export function containerState(info: Docker.ContainerInspectInfo): ContainerState {
  const state = info.State as Docker.ContainerInspectInfo['State'] & { Error?: string };
  return {
    id: info.Id,
    labels: info.Config.Labels ?? {},
    running: state.Running,
    exitCode: state.Running || time(state.StartedAt) === null ? null : state.ExitCode,
    oomKilled: state.OOMKilled,
    startedAt: time(state.StartedAt),
    finishedAt: time(state.FinishedAt),
    error: state.Error ?? '',
    ports: publishedPorts(info.NetworkSettings?.Ports ?? null),
    addresses: Object.values(info.NetworkSettings?.Networks ?? {})
      .map((n) => n?.IPAddress)
      .filter((a): a is string => typeof a === 'string' && a.length > 0),
  };
}

/** The engine's message of a dockerode error (its JSON body) rather than the HTTP wrapping. */
export function engineMessage(error: unknown): string {
  const e = error as { json?: { message?: string }; reason?: string; message?: string };
  return (e?.json?.message ?? e?.message ?? String(error)).trim();
}

export function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number })?.statusCode;
}
