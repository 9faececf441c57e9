import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  controlPlaneEnv,
  ensureTestDatabase,
  expectEventually,
  freePort,
  httpJson,
  NatsServer,
  uniqueName,
} from '@pier/testing';
import { OwnPostgres } from './own-infrastructure';

const run = promisify(execFile);
const DEPLOY = join(__dirname, '..', '..', '..', 'deploy', 'local');

export const SERVICES = ['clusters', 'auth', 'scheduler', 'router', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];
/** The agents: the one up.sh starts, and one more started with agent.sh. */
const AGENTS = ['local-1', 'local-2'] as const;

/**
 * The whole platform of the fault suite, run by the local deployment's own scripts (deploy/local: up.sh,
 * agent.sh, down.sh) in a state directory of its own, with NATS and Postgres of its own (so restarting
 * them touches nobody else) and a registry of its own (deps.sh, on a free port). Every service and agent
 * runs under the scripts' supervisor, as it does for a user; the suite kills the supervised processes.
 */
export class FaultPlatform {
  readonly prefix = uniqueName('faults');
  readonly installation = this.prefix;
  readonly nats = new NatsServer();
  readonly postgres = new OwnPostgres();
  readonly stateDir = mkdtempSync(join(tmpdir(), 'pier-faults-'));
  /** The environment the scripts run with: the caller's values win over the state directory's env file. */
  env: Record<string, string> = {};
  admin = { email: '', password: '' };
  readonly processes = new Map<string, ScriptProcess>();
  readonly agentNames: string[] = [...AGENTS];
  /** Ready URL of each service. */
  private readonly readyUrls = new Map<string, string>();
  private scriptLog = '';

  get api(): string {
    return `http://127.0.0.1:${this.env.PIER_API_PORT}/api/v1`;
  }

  get routerHttpPort(): number {
    return Number(this.env.PIER_ROUTER_HTTP_PORT);
  }

  /** The database schema of a service's read model (the services' defaults: their names). */
  schemaOf(service: string): string {
    return service;
  }

  /** Starts NATS and Postgres, then the platform with up.sh (one agent) and a second agent. */
  async start(): Promise<void> {
    await this.nats.start();
    await this.postgres.start();
    await ensureTestDatabase(this.postgres.url);
    // PIER_FAULTS_LOG_LEVEL: the processes' log level (info by default), for a failure's diagnosis.
    const base = await controlPlaneEnv(
      this.prefix,
      this.postgres.url,
      process.env.PIER_FAULTS_LOG_LEVEL ?? 'info',
    );
    this.admin = base.admin;
    this.env = {
      ...base.env,
      PIER_STATE_DIR: this.stateDir,
      PIER_NATS_URL: this.nats.url,
      PIER_ROUTER_PORT: String(await freePort()),
      PIER_ROUTER_HTTP_PORT: String(await freePort()),
      PIER_ROUTER_METRICS_PORT: String(await freePort()),
      PIER_ROUTER_STATE_DIR: join(this.stateDir, 'router'),
      PIER_REGISTRY_PORT: String(await freePort()),
      PIER_BASE_DOMAIN: 'pier.localhost',
      // An agent killed and restarted by its supervisor is back within a few seconds: its node must not
      // be declared lost meanwhile (what up.sh sets too).
      PIER_NODE_LOST_AFTER_MS: '10000',
      // A process per service: the suite kills one service at a time (up.sh's default runs them all in
      // one process, which the e2e suite covers).
      PIER_LAYOUT: 'processes',
      // Restarts after a crash within 1–4 s (the deployment's default is 1–30 s).
      SUPERVISE_MIN_DELAY: '1',
      SUPERVISE_MAX_DELAY: '4',
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
      this.processes.set(name, new ScriptProcess(name, this, 'service'));
    }
    for (const name of AGENTS) this.processes.set(`agent-${name}`, new ScriptProcess(name, this, 'agent'));
    await this.script('up.sh');
    await this.script('agent.sh', AGENTS[1]);
    await this.waitReady([...this.processes.keys()]);
  }

  /** Runs a script of deploy/local with the platform's environment; fails with its output. */
  async script(name: string, ...args: string[]): Promise<string> {
    try {
      const { stdout, stderr } = await run('bash', [join(DEPLOY, name), ...args], {
        env: { ...process.env, ...this.env },
        timeout: 300_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      this.scriptLog += `$ ${name} ${args.join(' ')}\n${stderr}`;
      return stdout;
    } catch (error) {
      const e = error as Error & { stdout?: string; stderr?: string };
      throw new Error(`${name} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
    }
  }

  process(name: string): ScriptProcess {
    const p = this.processes.get(name);
    if (!p) throw new Error(`no process ${name}`);
    return p;
  }

  /** Whether the process is up: a service answers its ready URL, an agent has (re)joined its cluster. */
  async isReady(name: string): Promise<boolean> {
    const p = this.process(name);
    if (p.kind === 'agent') return p.joined();
    try {
      return (await httpJson('GET', this.readyUrls.get(name)!)).status === 200;
    } catch {
      return false;
    }
  }

  async waitReady(names: readonly string[], timeoutMs = 60_000): Promise<void> {
    await expectEventually(
      async () => {
        for (const name of names) {
          const p = this.process(name);
          if (!p.running) throw new Error(`${name}'s supervisor is not running:\n${p.output().slice(-4000)}`);
          if (!(await this.isReady(name))) throw new Error(`${name} not ready`);
        }
      },
      { timeoutMs, intervalMs: 100, what: `${names.join(', ')} ready` },
    );
  }

  /** A full `down.sh` / `up.sh` cycle, as a user runs it (up.sh brings both agents back). */
  async downAndUp(): Promise<void> {
    await this.script('down.sh');
    await this.script('up.sh');
  }

  /** Everything the scripts printed so far (their logs, not the processes'). */
  scriptOutput(): string {
    return this.scriptLog;
  }

  /**
   * Stops everything (`down.sh --purge`: the nodes' containers and the state directory go too), then
   * NATS and Postgres.
   */
  async stop(): Promise<void> {
    // PIER_FAULTS_KEEP_LOGS=<dir>: the processes' logs are copied there first, for a failure's diagnosis.
    const keep = process.env.PIER_FAULTS_KEEP_LOGS;
    if (keep) cpSync(join(this.stateDir, 'logs'), keep, { recursive: true });
    if (existsSync(join(this.stateDir, 'run')))
      await this.script('down.sh', '--purge').catch((error: unknown) => process.stderr.write(`${error}\n`));
    await this.nats.remove();
    await this.postgres.remove();
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

/**
 * A service or an agent as the scripts run it: `run/<name>.pid` is its supervisor's, and the supervisor
 * logs each start of the process (`running (pid N, supervised by pid M)`) to `logs/<name>.log`. The suite
 * kills the supervised process, never the supervisor, exactly as a crash would.
 */
export class ScriptProcess {
  /** The file name under run/ and logs/: the service's name, `agent-<name>` for an agent. */
  readonly file: string;

  constructor(
    /** The service's name, or the agent's (local-1). */
    readonly name: string,
    private readonly platform: FaultPlatform,
    readonly kind: 'service' | 'agent',
  ) {
    this.file = kind === 'agent' ? `agent-${name}` : name;
  }

  private supervisorPid(): number | null {
    try {
      const pid = Number(
        readFileSync(join(this.platform.stateDir, 'run', `${this.file}.pid`), 'utf8').trim(),
      );
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  /** Whether the supervisor runs (it keeps running while it restarts its process). */
  get running(): boolean {
    const pid = this.supervisorPid();
    return pid !== null && alive(pid);
  }

  output(): string {
    try {
      return readFileSync(join(this.platform.stateDir, 'logs', `${this.file}.log`), 'utf8').slice(-400_000);
    } catch {
      return '';
    }
  }

  /** What the process logged since its supervisor last started it. */
  private currentRun(): { pid: number; log: string } | null {
    const log = this.output();
    const runs = [...log.matchAll(/: running \(pid (\d+), supervised by pid \d+\)/g)];
    const last = runs[runs.length - 1];
    return last ? { pid: Number(last[1]), log: log.slice(last.index) } : null;
  }

  /** The pid of the process the supervisor started last. */
  pid(): number | null {
    return this.currentRun()?.pid ?? null;
  }

  /** For an agent: whether the process the supervisor started last runs and has (re)joined its cluster. */
  joined(): boolean {
    const current = this.currentRun();
    if (!current || !alive(current.pid)) return false;
    return /"msg":"(re)?joined the cluster"/.test(current.log);
  }

  /** SIGKILLs the supervised process (a crash); resolves with the pid it killed. */
  async crash(): Promise<number> {
    const pid = await expectEventually(
      () => {
        const p = this.pid();
        if (p === null) throw new Error(`${this.file}: no supervised process yet`);
        return p;
      },
      { timeoutMs: 10_000, what: `${this.file} running` },
    );
    process.kill(pid, 'SIGKILL');
    // Signals are delivered asynchronously: until it is gone, it would still look ready.
    await expectEventually(() => expect(alive(pid)).toBe(false), { what: `${this.file} (pid ${pid}) dead` });
    return pid;
  }

  /** A death nothing undoes: SIGKILL to the supervisor (so it restarts nothing), then to its process. */
  async killForGood(): Promise<void> {
    const supervisor = this.supervisorPid();
    const pid = this.pid();
    for (const p of [supervisor, pid]) {
      if (p === null) continue;
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await expectEventually(() => expect(this.running).toBe(false), { what: `${this.file} gone` });
  }

  /** Starts it again as a user would: agent.sh NAME for an agent, up.sh (which starts what is missing) for a service. */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.kind === 'agent') await this.platform.script('agent.sh', this.name);
    else await this.platform.script('up.sh');
  }
}

/** Whether a process runs: it exists and is not a zombie (killed, not yet reaped by its supervisor). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
