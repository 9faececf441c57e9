import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectTestNats,
  controlPlaneEnv,
  deleteStreams,
  dropSchema,
  ensureTestDatabase,
  freePort,
  httpJson,
  type RunningProcess,
  startNodeProcess,
  uniqueName,
} from '@pier/testing';
import { ApiClient, REPO_ROOT, waitFor } from './local-platform';
import { progress } from './report';

export const SERVICES = ['clusters', 'auth', 'scheduler', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** `one-process`: services/platform runs every service (the local default); `processes`: one each. */
export type Layout = 'one-process' | 'processes';

export function parseLayout(value: string): Layout {
  if (value !== 'one-process' && value !== 'processes')
    throw new Error(`--layout must be one-process or processes, not ${value}`);
  return value;
}

export const serviceScript = (service: string) => join(REPO_ROOT, 'services', service, 'dist', 'main.js');

/**
 * An isolated control plane (clusters, auth, scheduler, gateway) started from the built services, with
 * its own NATS prefix and Postgres schemas, so a benchmark never touches the platform up.sh runs.
 */
export interface ControlPlane {
  readonly prefix: string;
  readonly api: string;
  readonly env: Readonly<Record<string, string>>;
  readonly layout: Layout;
  /** The process running each service: in the one-process layout the same one for every service. */
  readonly processes: Readonly<Record<ServiceName, RunningProcess>>;
  /** Every control-plane process once (sum their CPU over these, not over `processes`). */
  readonly hosts: readonly RunningProcess[];
  readonly admin: ApiClient;
  /** Processes started beside the services (hollow agents); killed first by `stop`. */
  readonly extra: RunningProcess[];
  /** Stops everything, then removes the prefix's streams and the schemas. Safe to call twice. */
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Environment added to every service (e.g. heartbeat settings). */
  readonly env?: Record<string, string>;
  /** Extra environment of one service only (e.g. `NODE_OPTIONS=--cpu-prof` for the scheduler). */
  readonly serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Node flags of one service (e.g. `--cpu-prof`, which NODE_OPTIONS does not accept). */
  readonly nodeFlags?: Partial<Record<ServiceName, string[]>>;
  /** `processes` unless told; in the one-process layout `serviceEnv` and `nodeFlags` go to the one process. */
  readonly layout?: Layout;
  /** Runs the router too (with its HAProxy, on free ports): the whole control plane. */
  readonly router?: boolean;
}

/** `node [flags] services/<name>/dist/main.js` (startNodeProcess runs `node <first> ...rest`). */
function startService(
  name: ServiceName | 'router' | 'platform',
  env: Record<string, string>,
  flags: readonly string[] = [],
): RunningProcess {
  const [first, ...rest] = [...flags, serviceScript(name)];
  return startNodeProcess(name, first!, env, rest);
}

/** A process that ended while being waited for: `poll` fails at once instead of at its deadline. */
export class ProcessExited extends Error {}

/** Like `waitFor`, except that a `ProcessExited` thrown by `probe` ends the wait at once. */
export async function poll<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  intervalMs: number,
): Promise<T> {
  let exited: ProcessExited | undefined;
  const value = await waitFor(
    what,
    timeoutMs,
    async () => {
      try {
        return await probe();
      } catch (error) {
        if (error instanceof ProcessExited) {
          exited = error;
          return null as T;
        }
        throw error;
      }
    },
    intervalMs,
  );
  if (exited) throw exited;
  return value;
}

export async function startControlPlane(
  label: string,
  options: ControlPlaneOptions = {},
): Promise<ControlPlane> {
  const prefix = uniqueName(`bench_${label}`);
  const databaseUrl = await ensureTestDatabase();
  const base = await controlPlaneEnv(prefix, databaseUrl, 'warn');
  const { admin, apiPort } = base;
  const routerStateDir = options.router ? mkdtempSync(join(tmpdir(), 'pier-bench-router-')) : undefined;
  const env: Record<string, string> = {
    ...base.env,
    ...(routerStateDir
      ? {
          PIER_ROUTER_PORT: String(await freePort()),
          PIER_ROUTER_HTTP_PORT: String(await freePort()),
          PIER_ROUTER_METRICS_PORT: String(await freePort()),
          PIER_ROUTER_STATE_DIR: routerStateDir,
        }
      : {}),
    ...options.env,
  };
  const schemas = SERVICES.map((s) => `${prefix}_${s}`);
  const layout = options.layout ?? 'processes';
  let processes: Record<ServiceName, RunningProcess>;
  let router: RunningProcess | undefined;
  if (layout === 'processes') {
    if (options.router) router = startService('router', env);
    processes = Object.fromEntries(
      SERVICES.map((s) => [
        s,
        startService(
          s,
          { ...env, PIER_DATABASE_SCHEMA: `${prefix}_${s}`, ...options.serviceEnv?.[s] },
          options.nodeFlags?.[s],
        ),
      ]),
    ) as Record<ServiceName, RunningProcess>;
  } else {
    const platform = startService(
      'platform',
      {
        ...env,
        PIER_SERVICES: [...SERVICES, ...(options.router ? ['router'] : [])].join(','),
        ...Object.fromEntries(
          SERVICES.map((s) => [`PIER_${s.toUpperCase()}_DATABASE_SCHEMA`, `${prefix}_${s}`]),
        ),
        ...Object.assign({}, ...SERVICES.map((s) => options.serviceEnv?.[s] ?? {})),
      },
      [...new Set(SERVICES.flatMap((s) => options.nodeFlags?.[s] ?? []))],
    );
    processes = Object.fromEntries(SERVICES.map((s) => [s, platform])) as Record<ServiceName, RunningProcess>;
  }
  const hosts = [...new Set([...Object.values(processes), ...(router ? [router] : [])])];
  const extra: RunningProcess[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await Promise.all(extra.map((p) => p.stop('SIGKILL')));
      // SIGTERM, so a profiled service writes its profile on the way out.
      await Promise.all(hosts.map((p) => p.stop('SIGTERM', 15_000)));
      const nc = await connectTestNats('bench-cleanup');
      try {
        await deleteStreams(nc, prefix);
      } finally {
        await nc.close();
      }
      for (const schema of schemas) await dropSchema(databaseUrl, schema);
      if (routerStateDir) rmSync(routerStateDir, { recursive: true, force: true });
    })());
  // Interrupted (Ctrl-C, a timeout): leave nothing behind.
  const onSignal = (signal: NodeJS.Signals) => {
    progress(`${signal}: stopping the control plane ${prefix}`);
    void stop().finally(() => process.exit(2));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const ports = [...base.readinessPorts, ...(options.router ? [env.PIER_ROUTER_PORT!] : [])];
    await poll(
      'control plane start',
      60_000,
      async () => {
        for (const p of hosts) {
          if (p.child.exitCode !== null)
            throw new ProcessExited(`${p.name} exited:\n${p.output().slice(-4000)}`);
        }
        for (const port of ports) {
          if ((await httpJson('GET', `http://127.0.0.1:${port}/readyz`)).status !== 200) return undefined;
        }
        return true;
      },
      200,
    );
    const api = `http://127.0.0.1:${apiPort}/api/v1`;
    const client = await ApiClient.login(api, admin.email, admin.password);
    progress(`control plane ${prefix} up at ${api}`);
    return { prefix, api, env, layout, processes, hosts, admin: client, extra, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/** Creates a cluster and a join token usable by any number of nodes. */
export async function clusterWithToken(
  cp: ControlPlane,
  name = 'main',
): Promise<{ clusterId: string; token: string }> {
  const cluster = await cp.admin.must<{ id: string }>('POST', '/clusters', { name });
  const token = await cp.admin.must<{ token: string }>('POST', `/clusters/${cluster.id}/join-tokens`, {
    maxUses: null,
  });
  return { clusterId: cluster.id, token: token.token };
}

/** Every node of a cluster as the API lists them (all pages). */
export async function listNodes(
  cp: ControlPlane,
  clusterId: string,
): Promise<{ id: string; state: string }[]> {
  const nodes: { id: string; state: string }[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `/nodes?clusterId=${clusterId}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page: { items: { id: string; state: string }[]; nextCursor: string | null } = await cp.admin.must(
      'GET',
      query,
    );
    nodes.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return nodes;
}

/** Waits until the API lists `count` ready nodes in the cluster. */
export async function waitNodesReady(
  cp: ControlPlane,
  clusterId: string,
  count: number,
  timeoutMs: number,
): Promise<void> {
  let last = -1;
  await waitFor(
    `${count} ready nodes`,
    timeoutMs,
    async () => {
      const ready = (await listNodes(cp, clusterId)).filter((n) => n.state === 'ready').length;
      if (ready !== last) progress(`${ready}/${count} nodes ready in the API`);
      last = ready;
      return ready >= count ? true : undefined;
    },
    1000,
  );
}

/** Prints the last lines each service wrote: what a failed benchmark run needs to be understood. */
export function reportServiceOutput(cp: ControlPlane): void {
  for (const p of cp.hosts) {
    const tail = p.output().slice(-3000).trim();
    if (tail) progress(`${p.name} output (last lines):\n${tail}`);
  }
}
