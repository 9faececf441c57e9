import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import Docker from 'dockerode';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectTestNats,
  controlPlaneEnv,
  deleteStreams,
  dropSchema,
  ensureTestDatabase,
  expectEventually,
  freePort,
  httpJson,
  type RunningProcess,
  startNodeProcess,
  uniqueName,
} from '@pier/testing';

const ROOT = join(__dirname, '..', '..');
export const serviceScript = (service: string) => join(ROOT, 'services', service, 'dist', 'main.js');

const SERVICES = ['clusters', 'auth', 'scheduler', 'gateway'] as const;

/**
 * How the control plane runs: `one-process` (the local default: services/platform runs every service in
 * one Node process) or `processes` (a process per service, the scale-out layout). `PIER_E2E_LAYOUT`
 * picks it for the whole suite; the fault suite runs the `processes` layout (it kills one service).
 */
export type Layout = 'one-process' | 'processes';
export const E2E_LAYOUT: Layout = (() => {
  const layout = process.env.PIER_E2E_LAYOUT ?? 'one-process';
  if (layout !== 'one-process' && layout !== 'processes')
    throw new Error(`PIER_E2E_LAYOUT must be one-process or processes, not ${layout}`);
  return layout;
})();

/** An instance as `GET /spaces/:space/apps/:app/instances` lists it: the fields the tests read. */
export interface ApiInstance {
  id: string;
  version: number;
  nodeId: string | null;
  state: string;
  restarts: number;
  reason: string | null;
  code: string | null;
  hostPorts: { containerPort: number; hostPort: number }[];
}

/** The control plane (clusters, auth, gateway) as real processes from the built services. */
export interface Platform {
  /** Namespace of this platform's streams, subjects and schemas. */
  readonly prefix: string;
  /**
   * The `pier.installation` label its agents put on their containers and networks (the agent's default,
   * the prefix): every Docker lookup and clean-up of a test goes through it, so that a test never sees
   * nor touches what another installation on the machine runs (`platformContainers`).
   */
  readonly installation: string;
  readonly api: string;
  readonly env: Record<string, string>;
  readonly databaseUrl: string;
  /** Postgres schema of each service. */
  readonly schemas: Record<(typeof SERVICES)[number], string>;
  readonly admin: { readonly email: string; readonly password: string };
  readonly layout: Layout;
  /** The control plane's processes (one named `platform`, or one per service), then the agents. */
  readonly processes: RunningProcess[];
  /** Logs in and returns an access token. */
  login(email: string, password: string): Promise<string>;
  /** An API call with a bearer token. */
  call<T = unknown>(
    token: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T; headers: Headers }>;
  stop(): Promise<void>;
}

export async function startPlatform(
  label: string,
  extraEnv: Record<string, string> = {},
  options: { router?: boolean; layout?: Layout } = {},
): Promise<Platform> {
  const layout = options.layout ?? E2E_LAYOUT;
  const prefix = uniqueName(label);
  const databaseUrl = await ensureTestDatabase();
  const base = await controlPlaneEnv(prefix, databaseUrl, 'info');
  const { admin, apiPort } = base;
  const routerStateDir = options.router ? mkdtempSync(join(tmpdir(), 'pier-router-')) : undefined;
  const env: Record<string, string> = {
    ...base.env,
    ...(options.router
      ? {
          PIER_ROUTER_PORT: String(await freePort()),
          PIER_ROUTER_HTTP_PORT: String(await freePort()),
          PIER_ROUTER_METRICS_PORT: String(await freePort()),
          PIER_ROUTER_STATE_DIR: routerStateDir!,
        }
      : {}),
    ...extraEnv,
  };
  const schemas = {
    clusters: `${prefix}_clusters`,
    auth: `${prefix}_auth`,
    scheduler: `${prefix}_scheduler`,
    gateway: `${prefix}_gateway`,
  };
  const services: string[] = [...SERVICES, ...(options.router ? ['router'] : [])];
  const schemaOf = (s: string) => schemas[s as keyof typeof schemas] ?? `${prefix}_${s}`;
  const processes =
    layout === 'processes'
      ? services.map((s) =>
          startNodeProcess(s, serviceScript(s), { ...env, PIER_DATABASE_SCHEMA: schemaOf(s) }),
        )
      : [
          startNodeProcess('platform', serviceScript('platform'), {
            ...env,
            PIER_SERVICES: services.join(','),
            ...Object.fromEntries(
              services.map((s) => [`PIER_${s.toUpperCase()}_DATABASE_SCHEMA`, schemaOf(s)]),
            ),
          }),
        ];
  const api = `http://127.0.0.1:${apiPort}/api/v1`;
  const ports = [...base.readinessPorts];
  if (options.router) ports.push(env.PIER_ROUTER_PORT!);
  try {
    await expectEventually(
      async () => {
        for (const p of processes)
          if (p.child.exitCode !== null) throw new Error(`${p.name} exited:\n${p.output()}`);
        for (const port of ports)
          expect((await httpJson('GET', `http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      },
      { timeoutMs: 45_000, intervalMs: 200, what: 'platform start' },
    );
  } catch (error) {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    throw error;
  }
  const call = <T>(token: string, method: string, path: string, body?: unknown) =>
    httpJson<T>(method, `${api}${path}`, body, { authorization: `Bearer ${token}` });
  return {
    prefix,
    installation: prefix,
    api,
    env,
    databaseUrl,
    schemas,
    admin,
    layout,
    processes,
    call,
    async login(email: string, password: string) {
      const reply = await httpJson<{ accessToken: string }>('POST', `${api}/auth/login`, { email, password });
      if (reply.status !== 200)
        throw new Error(`login of ${email} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
      return reply.body.accessToken;
    },
    async stop() {
      await Promise.all(processes.map((p) => p.stop('SIGTERM')));
      for (const schema of Object.values(schemas)) await dropSchema(databaseUrl, schema);
      if (routerStateDir) rmSync(routerStateDir, { recursive: true, force: true });
    },
  };
}

/** Starts an agent process with its own state directory. */
export function startAgent(
  platform: Platform,
  name: string,
  stateDir: string,
  token?: string,
): RunningProcess {
  const env: Record<string, string> = {
    ...platform.env,
    PIER_AGENT_NAME: name,
    PIER_AGENT_STATE_DIR: stateDir,
  };
  if (token) env.PIER_AGENT_JOIN_TOKEN = token;
  const agent = startNodeProcess(`agent-${name}`, serviceScript('agent'), env);
  platform.processes.push(agent);
  return agent;
}

/**
 * Creates cluster `main`, starts one agent per name (state under `stateDir`) joined to it with one
 * multi-use token, and waits until all their nodes are ready.
 */
export async function startNodes(
  platform: Platform,
  admin: string,
  stateDir: string,
  names: readonly string[],
): Promise<void> {
  const cluster = await platform.call<{ id: string }>(admin, 'POST', '/clusters', { name: 'main' });
  const token = await platform.call<{ token: string }>(
    admin,
    'POST',
    `/clusters/${cluster.body.id}/join-tokens`,
    {
      maxUses: null,
    },
  );
  for (const name of names) startAgent(platform, name, join(stateDir, name), token.body.token);
  await expectEventually(
    async () => {
      const nodes = (await platform.call<{ items: { state: string }[] }>(admin, 'GET', '/nodes')).body.items;
      expect(nodes.filter((n) => n.state === 'ready')).toHaveLength(names.length);
    },
    { timeoutMs: 30_000, what: `${names.length} ready nodes` },
  );
}

const docker = new Docker({ socketPath: '/var/run/docker.sock' });

/** The label filter of a platform's own Docker objects, with more `key=value` labels to narrow it. */
export function ownLabels(platform: Pick<Platform, 'installation'>, ...labels: string[]): string[] {
  return [`pier.installation=${platform.installation}`, ...labels];
}

/**
 * The containers of this platform's agents only (by its `pier.installation` label), narrowed by more
 * `key=value` labels: in any state unless `running`. Another platform on the machine may run the same
 * space and app names; its containers never show here.
 */
export function platformContainers(
  platform: Pick<Platform, 'installation'>,
  labels: readonly string[] = [],
  options: { running?: boolean } = {},
): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({
    all: !options.running,
    filters: { label: ownLabels(platform, ...labels) },
  });
}

/**
 * Removes the platform's own containers and then its own networks (both by its installation label),
 * whatever their space: what another installation runs on the machine stays untouched.
 */
export async function removePlatformDocker(platform: Pick<Platform, 'installation'>): Promise<void> {
  for (const c of await platformContainers(platform)) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
  for (const n of await docker.listNetworks({ filters: { label: ownLabels(platform) } })) {
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
  }
}

/** Stops the platform, then removes what it leaves behind: its containers, networks and streams. */
export async function stopPlatformWithApps(platform: Platform | undefined): Promise<void> {
  if (!platform) return;
  await platform.stop();
  await removePlatformDocker(platform);
  const nc = await connectTestNats();
  await deleteStreams(nc, platform.prefix);
  await nc.close();
}

/**
 * A space name of this test run: `name` and a random suffix. The agents of every installation on an
 * engine name a space's network `pier-<space>`, so a test that used a space name a platform in use
 * also has (the README's `acme`) would put its containers on that platform's network.
 */
export function runSpace(name: string): string {
  return `${name}-${randomBytes(3).toString('hex')}`;
}

/**
 * One GET through the router with a Host header: status and trimmed body (status 0 and the error when
 * nothing answered). A new connection each time.
 */
export function viaRouter(
  routerPort: number,
  host: string,
  path = '/index.html',
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: routerPort, path, headers: { host, ...headers }, timeout: 10_000 },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
        // A response cut before its end (the connection closed or timed out mid-body) is an answer too:
        // without this the promise never settles.
        res.on('close', () => {
          if (!res.complete)
            resolve({ status: 0, body: `response cut before its end (HTTP ${res.statusCode})` });
        });
      },
    );
    req.on('error', (error) => resolve({ status: 0, body: String(error) }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}
