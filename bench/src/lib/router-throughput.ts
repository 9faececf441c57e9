import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiClient, type LocalPlatform, runningPid } from './local-platform';
import { descendants, readProc } from './procfs';
import { progress } from './report';
import { hostPortOf, waitReady } from './router-apps';
import { CpuMeter } from './router-cpu';
import { startNginxProxy, type NginxProxy } from './router-nginx';
import {
  containerOfInstance,
  containerProcesses,
  dockerProxyPids,
  HaproxyPinKeeper,
  pin,
  cpuListSize,
  type Pinning,
  threadsOf,
} from './router-pinning';
import { runWrk, type WrkResult } from './router-wrk';

export type Target = 'direct' | 'router' | 'nginx';
export const TARGETS: readonly Target[] = ['direct', 'router', 'nginx'];

export interface ThroughputOptions {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly runs: number;
  readonly connections: number;
  /** A second pass with this many connections: latency without queueing. 0: no such pass. */
  readonly latencyConnections: number;
  readonly latencySeconds: number;
  readonly wrkThreads: number;
  /** CPUs of the proxy under test (HAProxy's workers, nginx's workers). */
  readonly proxyCpus: string;
  /** CPUs of wrk, the backend and its docker-proxy. */
  readonly loadCpus: string;
}

export interface TargetRun extends WrkResult {
  readonly target: Target;
  readonly run: number;
  readonly connections: number;
  /** HAProxy workers that appeared during the run (reloads caused by other apps changing). */
  readonly haproxyReloads: number;
  readonly cpu: ReturnType<CpuMeter['stop']>;
  /** CPU time of the proxy per request, microseconds (HAProxy's workers or nginx's workers). */
  readonly proxyCpuUsPerRequest: number | null;
  /**
   * CPU seconds used during the run by processes outside this benchmark (other benchmarks, the
   * platform's services, kernel work not charged to a process): all CPUs' busy time minus the process
   * groups measured and wrk.
   */
  readonly otherCpuSeconds: number;
}

export interface ThroughputResult {
  readonly runs: TargetRun[];
  readonly haproxyThreads: number;
  /** More HAProxy threads than CPUs it was pinned to: its figures measure their contention. */
  readonly haproxyThreadsExceedCpus: boolean;
  readonly nginxWorkers: number;
  readonly nginxConfig: string;
  readonly backendHostPort: number;
  /** The HAProxy configuration during the runs: apps routed, and use_backend rules (evaluated in order). */
  readonly haproxyApps: number;
  /** `http-request` and `use_backend` rules of the HTTP frontend: what every request runs through. */
  readonly haproxyFrontendRules: number;
}

type Groups = () => Record<string, readonly number[]>;

/** Every process group whose CPU use is reported for a run. */
function processGroups(
  platform: LocalPlatform,
  keeper: HaproxyPinKeeper,
  nginx: NginxProxy,
  backend: readonly number[],
  dockerProxy: readonly number[],
): Groups {
  return () => {
    // The pid file names the router's supervisor (deploy/local/lib.sh `supervise`); the router is its child.
    const supervisor = runningPid(platform, 'router');
    const router = supervisor
      ? (descendants(supervisor).find((pid) => readProc(pid)?.ppid === supervisor) ?? null)
      : null;
    const nats = runningPid(platform, 'nats');
    return {
      haproxy: keeper.workers(),
      nginx: descendants(nginx.master),
      backend,
      'docker-proxy': dockerProxy,
      'router (control plane)': router ? [router] : [],
      nats: nats ? [nats] : [],
    };
  };
}

/** One measured wrk run (after its warm-up), with the CPU use of every process group meanwhile. */
async function measureOne(
  target: Target,
  run: number,
  pass: { connections: number; seconds: number; warmup: number },
  wrk: { url: string; host?: string; threads: number; cpus: string },
  keeper: HaproxyPinKeeper,
  groups: Groups,
): Promise<TargetRun> {
  const options = { ...wrk, connections: pass.connections, threads: Math.min(wrk.threads, pass.connections) };
  if (pass.warmup > 0) await runWrk({ ...options, seconds: pass.warmup });
  const reloads = keeper.reloads;
  const meter = new CpuMeter(groups);
  const result = await runWrk({ ...options, seconds: pass.seconds });
  const cpu = meter.stop();
  const proxyGroup = target === 'router' ? 'haproxy' : target === 'nginx' ? 'nginx' : null;
  const proxySeconds = proxyGroup ? cpu.processes[proxyGroup]!.cpuSeconds : null;
  const measured =
    Object.values(cpu.processes).reduce((sum, g) => sum + g.cpuSeconds, 0) + result.wrkCpuSeconds;
  return {
    ...result,
    target,
    run,
    connections: pass.connections,
    haproxyReloads: keeper.reloads - reloads,
    cpu,
    proxyCpuUsPerRequest: proxySeconds === null ? null : (proxySeconds * 1e6) / result.requests,
    otherCpuSeconds: Math.round((cpu.busyCpuSeconds - measured) * 100) / 100,
  };
}

/**
 * wrk against the backend directly, through Pier's router (HAProxy) and through a tuned nginx, the same
 * backend instance behind both proxies, the three targets interleaved `runs` times. The proxies run on
 * `proxyCpus`; wrk, the backend and Docker's port proxy on `loadCpus`.
 */
export async function measureThroughput(
  platform: LocalPlatform,
  api: ApiClient,
  app: string,
  host: string,
  o: ThroughputOptions,
): Promise<ThroughputResult> {
  const [instance] = await waitReady(api, app, 1, 1);
  const port = hostPortOf(instance!);
  const routerState = platform.env.PIER_ROUTER_STATE_DIR ?? '/var/lib/pier/router';
  const pinnings: Pinning[] = [];
  const keeper = new HaproxyPinKeeper(routerState, o.proxyCpus);
  let nginx: NginxProxy | undefined;
  try {
    const backend = containerProcesses(containerOfInstance(instance!.id));
    const dockerProxy = dockerProxyPids(port);
    pinnings.push(pin([...backend, ...dockerProxy], o.loadCpus));
    const haproxyThreads = threadsOf(keeper.workers()[0]!).length;
    const proxyCpuCount = cpuListSize(o.proxyCpus);
    if (haproxyThreads > proxyCpuCount) {
      // Threads taking turns on fewer CPUs spin and wait on each other: the figures would measure that.
      progress(
        `WARNING: HAProxy runs ${haproxyThreads} threads on ${proxyCpuCount} CPU(s) (${o.proxyCpus}); its figures measure ` +
          `threads contending for a CPU. Start the platform with PIER_ROUTER_HAPROXY_THREADS=${proxyCpuCount} ./deploy/local/up.sh ` +
          `or give --proxyCpus ${haproxyThreads} CPUs.`,
      );
    }
    nginx = await startNginxProxy({ workers: haproxyThreads, upstreams: [port], cpus: o.proxyCpus });
    progress(
      `backend 127.0.0.1:${port} (pids ${backend.join(',')}, docker-proxy ${dockerProxy.join(',') || 'none'}) on CPUs ${o.loadCpus}; ` +
        `HAProxy ${haproxyThreads} thread(s) and nginx ${haproxyThreads} worker(s) on CPUs ${o.proxyCpus}`,
    );
    const urls: Record<Target, { url: string; host?: string }> = {
      direct: { url: `http://127.0.0.1:${port}/` },
      router: { url: `http://127.0.0.1:${platform.routerPort}/`, host },
      nginx: { url: `http://127.0.0.1:${nginx.port}/`, host },
    };
    const groups = processGroups(platform, keeper, nginx, backend, dockerProxy);
    const passes = [
      { connections: o.connections, seconds: o.seconds, warmup: o.warmupSeconds },
      ...(o.latencyConnections > 0
        ? [{ connections: o.latencyConnections, seconds: o.latencySeconds, warmup: 0 }]
        : []),
    ];
    const runs: TargetRun[] = [];
    for (let run = 1; run <= o.runs; run++) {
      for (const pass of passes) {
        for (const target of TARGETS) {
          const wrk = { ...urls[target], threads: o.wrkThreads, cpus: o.loadCpus };
          const r = await measureOne(target, run, pass, wrk, keeper, groups);
          runs.push(r);
          progress(
            `${target} c=${pass.connections} run ${run}/${o.runs}: ${Math.round(r.rps)} req/s, p50 ${r.p50Ms} ms, ` +
              `p99 ${r.p99Ms} ms, errors ${r.errors}, non-2xx ${r.non2xx}; CPU busy ${r.cpu.cpuBusyPercent.join('/')} %, ` +
              `other processes ${r.otherCpuSeconds} CPU s`,
          );
        }
      }
    }
    const cfg = readFileSync(join(routerState, 'haproxy.cfg'), 'utf8');
    return {
      runs,
      haproxyThreads,
      haproxyThreadsExceedCpus: haproxyThreads > proxyCpuCount,
      nginxWorkers: haproxyThreads,
      nginxConfig: nginx.config,
      backendHostPort: port,
      haproxyApps: (cfg.match(/^backend \S+\.unavailable$/gm) ?? []).length,
      haproxyFrontendRules: (/^frontend http\n((?: .*\n|\n)*)/m.exec(cfg)?.[1] ?? '')
        .split('\n')
        .filter((l) => /^ {2}(http-request|use_backend|default_backend) /.test(l)).length,
    };
  } finally {
    keeper.restore();
    for (const p of pinnings) p.restore();
    await nginx?.stop();
  }
}
