import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  controlPlaneEnv,
  ensureTestDatabase,
  expectEventually,
  freePort,
  httpJson,
  NatsServer,
  uniqueName,
} from '@pier/testing';
import { serviceScript } from '../platform';
import { OwnPostgres } from './own-infrastructure';
import { Supervised } from './supervised';

export const SERVICES = ['clusters', 'auth', 'scheduler', 'router', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];

/**
 * The whole platform of the fault suite: its own NATS and Postgres, the five services and two agents,
 * each under deploy/local/lib.sh's supervisor, with the ops port each one answers `/readyz` (agents:
 * `/healthz`) on.
 */
export class FaultPlatform {
  readonly prefix = uniqueName('faults');
  readonly installation = this.prefix;
  readonly nats = new NatsServer();
  readonly postgres = new OwnPostgres();
  readonly stateDir = mkdtempSync(join(tmpdir(), 'pier-faults-'));
  env: Record<string, string> = {};
  admin = { email: '', password: '' };
  readonly processes = new Map<string, Supervised>();
  /** Ready URL of each process. */
  readonly readyUrls = new Map<string, string>();
  agentNames: string[] = [];

  get api(): string {
    return `http://127.0.0.1:${this.env.PIER_API_PORT}/api/v1`;
  }

  get routerHttpPort(): number {
    return Number(this.env.PIER_ROUTER_HTTP_PORT);
  }

  /** Starts NATS, Postgres and the services; waits until every service is ready. */
  async start(): Promise<void> {
    await this.nats.start();
    await this.postgres.start();
    await ensureTestDatabase(this.postgres.url);
    const base = await controlPlaneEnv(this.prefix, this.postgres.url, 'info');
    this.admin = base.admin;
    this.env = {
      ...base.env,
      PIER_NATS_URL: this.nats.url,
      PIER_ROUTER_PORT: String(await freePort()),
      PIER_ROUTER_HTTP_PORT: String(await freePort()),
      PIER_ROUTER_METRICS_PORT: String(await freePort()),
      PIER_ROUTER_STATE_DIR: mkdtempSync(join(tmpdir(), 'pier-router-')),
      // An agent killed and restarted by its supervisor is back within a few seconds: its node must not
      // be declared lost meanwhile (the local deployment uses 10 s for the same reason).
      PIER_NODE_LOST_AFTER_MS: '10000',
    };
    const ports: Record<ServiceName, string> = {
      clusters: this.env.PIER_CLUSTERS_PORT!,
      auth: this.env.PIER_AUTH_PORT!,
      scheduler: this.env.PIER_SCHEDULER_PORT!,
      router: this.env.PIER_ROUTER_PORT!,
      gateway: this.env.PIER_API_PORT!,
    };
    for (const name of SERVICES) {
      this.readyUrls.set(name, `http://127.0.0.1:${ports[name]}/readyz`);
      this.processes.set(
        name,
        new Supervised(name, [process.execPath, serviceScript(name)], {
          ...this.env,
          PIER_DATABASE_SCHEMA: `${this.prefix}_${name}`,
        }),
      );
    }
    await this.startProcesses(SERVICES);
  }

  /** Adds an agent (its own state directory and ops port) joined with `token`, and waits until it is up. */
  async addAgent(name: string, token: string): Promise<void> {
    const port = await freePort();
    this.readyUrls.set(`agent-${name}`, `http://127.0.0.1:${port}/healthz`);
    this.processes.set(
      `agent-${name}`,
      new Supervised(`agent-${name}`, [process.execPath, serviceScript('agent')], {
        ...this.env,
        PIER_AGENT_NAME: name,
        PIER_AGENT_STATE_DIR: join(this.stateDir, name),
        PIER_AGENT_JOIN_TOKEN: token,
        PIER_AGENT_METRICS_PORT: String(port),
      }),
    );
    this.agentNames.push(name);
    await this.startProcesses([`agent-${name}`]);
  }

  process(name: string): Supervised {
    const p = this.processes.get(name);
    if (!p) throw new Error(`no process ${name}`);
    return p;
  }

  /** Whether the process answers its ready URL. */
  async isReady(name: string): Promise<boolean> {
    try {
      return (await httpJson('GET', this.readyUrls.get(name)!)).status === 200;
    } catch {
      return false;
    }
  }

  async startProcesses(names: readonly string[]): Promise<void> {
    for (const name of names) this.process(name).start();
    await this.waitReady(names);
  }

  async waitReady(names: readonly string[], timeoutMs = 60_000): Promise<void> {
    await expectEventually(
      async () => {
        for (const name of names) {
          const p = this.process(name);
          if (!p.running) throw new Error(`${name}'s supervisor exited:\n${p.output().slice(-4000)}`);
          if (!(await this.isReady(name))) throw new Error(`${name} not ready`);
        }
      },
      { timeoutMs, intervalMs: 100, what: `${names.join(', ')} ready` },
    );
  }

  /**
   * What down.sh does to the processes, in its order (agents, then gateway, router, scheduler, auth,
   * clusters; NATS last), then what up.sh does (NATS, the services in its order, the agents).
   */
  async downAndUp(): Promise<void> {
    const agents = this.agentNames.map((n) => `agent-${n}`);
    for (const name of [...agents, 'gateway', 'router', 'scheduler', 'auth', 'clusters'])
      await this.process(name).stop();
    await this.nats.stop();
    await this.nats.start();
    await this.startProcesses(['clusters', 'auth', 'scheduler', 'router', 'gateway']);
    await this.startProcesses(agents);
  }

  /** Stops everything and removes the directories (the Docker objects are the caller's to remove). */
  async stop(): Promise<void> {
    const agents = this.agentNames.map((n) => `agent-${n}`);
    for (const name of [...agents, 'gateway', 'router', 'scheduler', 'auth', 'clusters'])
      await this.processes.get(name)?.stop();
    await this.nats.remove();
    await this.postgres.remove();
    rmSync(this.stateDir, { recursive: true, force: true });
    if (this.env.PIER_ROUTER_STATE_DIR)
      rmSync(this.env.PIER_ROUTER_STATE_DIR, { recursive: true, force: true });
  }
}
