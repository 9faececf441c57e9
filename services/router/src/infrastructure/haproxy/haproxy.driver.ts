import { counter, type Logger, type Registry } from '@pier/observability';
import { type DataPlane, type DataPlaneStatus } from '../../application/ports';
import { type HaproxyConfig, type HaproxySettings, renderHaproxyConfig } from '../../domain/haproxy-config';
import {
  changedMaps,
  mapReplaceCommands,
  preparedVersion,
  runtimeCommands,
} from '../../domain/haproxy-runtime';
import { type RouteTable } from '../../domain/route-table';
import { haproxyPaths, type HaproxyPaths, logTail, writeConfig, writeMaps } from './haproxy-files';
import { HaproxyMaster } from './haproxy-master';
import { haproxyCommand, RuntimeSession } from './haproxy-socket';
import { type ProcessList } from './show-proc';

export interface HaproxyDriverOptions {
  /** The `haproxy` executable (2.6 or later). */
  readonly binary: string;
  /** Configuration, sockets, pid file and log live here. */
  readonly stateDir: string;
  readonly bind: string;
  readonly httpPort: number;
  readonly metricsBind: string;
  readonly metricsPort: number;
  readonly minSlots?: number;
  /** How long a worker replaced by a reload may keep its open connections (default 1 day). */
  readonly hardStopAfterSeconds?: number;
  /** HAProxy's threads (default 0: one per CPU it may run on when it starts). */
  readonly threads?: number;
  /** Requests an instance is sent at once (default 16); more wait in HAProxy's queue. */
  readonly serverMaxconn?: number;
  /** How long a request may wait in that queue before a 503 APP_OVERLOADED (default 3 s). */
  readonly queueTimeoutMs?: number;
  /** Proxies (IPs or CIDRs) whose forwarding headers are believed; none by default. */
  readonly trustedProxies?: readonly string[];
  /** How long a start or a reload may take. */
  readonly startTimeoutMs?: number;
  /** How long open requests may take to finish when the router stops. */
  readonly stopGraceMs?: number;
  /** Delay before restarting a proxy that died, doubling up to `max` while it keeps dying. */
  readonly restartBackoffMs?: { readonly initial: number; readonly max: number };
}

/** A proxy that ran this long before dying is restarted after the initial delay again. */
const STABLE_AFTER_MS = 30_000;

/**
 * The data plane on HAProxy. Owns one master-worker HAProxy: renders the route table into its
 * configuration, sends membership, readiness, weights and hosts through the runtime API (server states
 * and map swaps), reloads seamlessly when the layout changes, and restarts the proxy (with the latest
 * table) when it dies. Every operation runs one at a time, so a reload and runtime commands never
 * interleave.
 */
export class HaproxyDriver implements DataPlane {
  readonly paths: HaproxyPaths;
  private readonly settings: HaproxySettings;
  private master?: HaproxyMaster;
  /** The latest table asked for: what a restart serves. */
  private table?: RouteTable;
  /** What the current worker runs (its configuration plus the runtime commands sent to it). */
  private applied?: HaproxyConfig;
  private queue: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private restartTimer?: NodeJS.Timeout;
  private backoffMs: number;
  private startedAt = 0;
  private readonly counts = { reloads: 0, restarts: 0, runtimeCommands: 0, mapUpdates: 0 };
  private readonly metrics?: {
    reloads: ReturnType<typeof counter>;
    restarts: ReturnType<typeof counter>;
    commands: ReturnType<typeof counter>;
    maps: ReturnType<typeof counter>;
  };

  constructor(
    private readonly options: HaproxyDriverOptions,
    private readonly logger: Logger,
    registry?: Registry,
  ) {
    this.paths = haproxyPaths(options.stateDir);
    this.settings = {
      bind: options.bind,
      httpPort: options.httpPort,
      metricsBind: options.metricsBind,
      metricsPort: options.metricsPort,
      statsSocket: this.paths.statsSocket,
      handoffSocket: this.paths.handoffSocket,
      hostsMapFile: this.paths.hostsMap,
      routesMapFile: this.paths.routesMap,
      minSlots: options.minSlots ?? 8,
      hardStopAfterSeconds: options.hardStopAfterSeconds ?? 86_400,
      threads: options.threads ?? 0,
      serverMaxconn: options.serverMaxconn ?? 16,
      queueTimeoutMs: options.queueTimeoutMs ?? 3000,
      trustedProxies: options.trustedProxies ?? [],
    };
    this.backoffMs = this.backoff.initial;
    if (registry) {
      const spec = (name: string, help: string) => ({ name, help, labelNames: [] as const });
      this.metrics = {
        reloads: counter(registry, spec('pier_router_reloads_total', 'HAProxy configuration reloads')),
        restarts: counter(registry, spec('pier_router_restarts_total', 'HAProxy restarts after it died')),
        commands: counter(
          registry,
          spec('pier_router_runtime_commands_total', 'Server changes sent through the runtime API'),
        ),
        maps: counter(
          registry,
          spec('pier_router_map_updates_total', 'Maps (hosts, weights) replaced through the runtime API'),
        ),
      };
    }
  }

  start(table: RouteTable): Promise<void> {
    return this.serialized(async () => {
      this.stopping = false;
      this.table = table;
      const config = renderHaproxyConfig(table, this.settings);
      await writeConfig(this.options.binary, this.paths, config);
      const adopted = await HaproxyMaster.adopt(this.paths);
      if (adopted) {
        try {
          this.watch(adopted);
          await this.reloadTo(config);
          this.logger.info({ pid: adopted.pid }, 'took over the HAProxy a previous router left running');
          return;
        } catch (error) {
          this.logger.warn({ err: error, pid: adopted.pid }, 'could not take over HAProxy; replacing it');
          this.master = undefined;
          await adopted.stop(this.stopGraceMs);
        }
      }
      await this.spawn(config);
    });
  }

  apply(table: RouteTable): Promise<void> {
    return this.serialized(async () => {
      this.table = table;
      // Dead or being restarted: the restart renders the latest table.
      if (!this.master || this.stopping) return;
      const config = renderHaproxyConfig(table, this.settings);
      if (this.applied && this.applied.layout === config.layout) {
        try {
          await this.sendRuntimeCommands(this.applied, config);
          return;
        } catch (error) {
          // The worker's state is unknown now: a reload starts a worker with exactly `config`.
          this.logger.warn({ err: error }, 'runtime API change failed; reloading instead');
          this.applied = undefined;
        }
      }
      await writeConfig(this.options.binary, this.paths, config);
      await this.reloadTo(config);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    await this.serialized(async () => {
      const master = this.master;
      this.master = undefined;
      this.applied = undefined;
      await master?.stop(this.stopGraceMs);
      if (master) this.logger.info({ pid: master.pid }, 'HAProxy stopped');
    });
  }

  async check(): Promise<void> {
    if (!this.master) throw new Error('HAProxy is not running');
    const info = await haproxyCommand(this.paths.statsSocket, 'show info', 2000);
    if (!/^Pid: \d+$/m.test(info)) throw new Error('HAProxy runtime API does not answer');
  }

  status(): DataPlaneStatus {
    return { running: this.master !== undefined, ...this.counts };
  }

  /** The master's process list (for tests and diagnostics). */
  processes(): Promise<ProcessList> {
    if (!this.master) return Promise.reject(new Error('HAProxy is not running'));
    return this.master.processes();
  }

  private get stopGraceMs(): number {
    return this.options.stopGraceMs ?? 5000;
  }

  private get backoff(): { initial: number; max: number } {
    return this.options.restartBackoffMs ?? { initial: 200, max: 5000 };
  }

  private async spawn(config: HaproxyConfig): Promise<void> {
    const master = await HaproxyMaster.spawn(
      this.options.binary,
      this.paths,
      this.options.startTimeoutMs ?? 15_000,
    );
    this.watch(master);
    this.applied = config;
    this.startedAt = Date.now();
    this.logger.info(
      { pid: master.pid, http: `${this.settings.bind}:${this.settings.httpPort}` },
      'HAProxy started',
    );
  }

  private async reloadTo(config: HaproxyConfig): Promise<void> {
    const list = await this.master!.reload(this.options.startTimeoutMs ?? 15_000);
    this.applied = config;
    this.counts.reloads++;
    this.metrics?.reloads.inc();
    this.logger.info({ workers: list.workers, reloads: this.counts.reloads }, 'HAProxy reloaded');
  }

  /**
   * Servers coming into rotation first (a version about to get traffic is ready before the maps send
   * it any), then the maps that changed, each replaced whole, then servers leaving rotation (once no
   * map sends them anything a version without them would not take); the files follow, for the next
   * reload or restart. All on one connection.
   */
  private async sendRuntimeCommands(current: HaproxyConfig, next: HaproxyConfig): Promise<void> {
    const { entering, leaving } = runtimeCommands(current.servers, next.servers);
    const maps = changedMaps(current.maps, next.maps);
    if (entering.length > 0 || maps.length > 0 || leaving.length > 0) {
      const session = await RuntimeSession.open(this.paths.statsSocket, 2000);
      try {
        await this.sendServerCommands(session, entering);
        for (const map of maps) {
          const version = preparedVersion(await session.command(`prepare map ${map.path}`));
          for (const command of mapReplaceCommands(map, version)) await session.command(command);
          this.counts.mapUpdates++;
          this.metrics?.maps.inc();
          this.logger.debug({ map: map.path }, 'HAProxy map replaced through the runtime API');
        }
        await this.sendServerCommands(session, leaving);
      } finally {
        session.close();
      }
    }
    await writeMaps(maps);
    this.applied = next;
  }

  private async sendServerCommands(session: RuntimeSession, commands: readonly string[]): Promise<void> {
    for (const command of commands) {
      await session.command(command);
      this.counts.runtimeCommands++;
      this.metrics?.commands.inc();
      this.logger.debug({ command }, 'HAProxy runtime API');
    }
  }

  private watch(master: HaproxyMaster): void {
    this.master = master;
    master.onExit((reason) => {
      if (this.master !== master || this.stopping) return;
      this.master = undefined;
      this.applied = undefined;
      this.counts.restarts++;
      this.metrics?.restarts.inc();
      if (Date.now() - this.startedAt > STABLE_AFTER_MS) this.backoffMs = this.backoff.initial;
      void logTail(this.paths).then((tail) =>
        this.logger.error({ pid: master.pid, reason, log: tail }, 'HAProxy died; restarting it'),
      );
      this.scheduleRestart();
    });
  }

  private scheduleRestart(): void {
    clearTimeout(this.restartTimer);
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.backoff.max);
    this.restartTimer = setTimeout(() => {
      this.serialized(async () => {
        if (this.stopping || this.master || !this.table) return;
        const config = renderHaproxyConfig(this.table, this.settings);
        await writeConfig(this.options.binary, this.paths, config);
        await this.spawn(config);
      }).catch((error: unknown) => {
        this.logger.error({ err: error }, 'could not restart HAProxy; trying again');
        this.scheduleRestart();
      });
    }, delay);
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
