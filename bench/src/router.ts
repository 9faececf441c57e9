/**
 * bench:router — the data plane against a direct connection and against nginx, and the control plane's
 * propagation delays.
 *
 * 1. wrk (keep-alive, 1 KiB responses, `connections` connections, `seconds` per run) against one backend
 *    instance (nginx in a container, bench/images/backend) (a) directly on its host port, (b) through
 *    Pier's router (HAProxy) with the app's Host, (c) through our own nginx tuned as a reverse proxy to
 *    the same host port. The proxies are pinned to `proxyCpus`, wrk and the backend to `loadCpus`; nginx
 *    runs as many workers as HAProxy has threads. Runs interleave the three targets `runs` times; a
 *    figure is the median over runs. A second pass with `latencyConnections` (1) measures the latency a
 *    proxy adds without queueing. Each run records the CPU use of every process involved, and of the
 *    rest of the machine (other work on a shared machine shows there), in the JSON details.
 *    `otherApps` more apps (a routable version each, no instance) are in the route table meanwhile: a
 *    router whose per-request work grew with the apps it serves would show it here.
 * 2. Ready → routed: an app is scaled up by one with requests flowing through the router; from the new
 *    instance's InstanceReady (its `occurredAt`, seen on NATS) to the first response it sends back.
 * 3. Weight switch: PUT traffic moving 100 % from one version to the other; from the call to the point
 *    after which every response comes from the new version. Requests that failed meanwhile (a reload
 *    closes keep-alive connections) are counted.
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from './lib/args';
import { ensureBackendImage } from './lib/backend-image';
import { type ApiClient, localPlatform, waitFor } from './lib/local-platform';
import { compared, type Figure, progress, runBench } from './lib/report';
import {
  backendVersion,
  createApp,
  ensureSpace,
  leftoverApps,
  removeApp,
  setTraffic,
  SPACE,
  waitReady,
} from './lib/router-apps';
import {
  InstanceEventWatch,
  logRep,
  readyToRouted,
  type ReadyToRouted,
  weightSwitch,
  type WeightSwitch,
} from './lib/router-propagation';
import { RoutedSampler, routedGet } from './lib/router-sampler';
import { measureThroughput, type Target, TARGETS, type ThroughputResult } from './lib/router-throughput';
import { summarize } from './lib/stats';

const defaultLoadCpus = () => (cpus().length > 1 ? `1-${cpus().length - 1}` : '0');

const SIZES = {
  quick: {
    seconds: 5,
    warmupSeconds: 1,
    runs: 1,
    connections: 100,
    latencyConnections: 1,
    latencySeconds: 3,
    wrkThreads: 1,
    readyReps: 3,
    switchReps: 4,
    proxyCpus: '0',
    loadCpus: '',
    otherApps: 20,
  },
  default: {
    seconds: 20,
    warmupSeconds: 3,
    runs: 3,
    connections: 100,
    latencyConnections: 1,
    latencySeconds: 10,
    wrkThreads: 1,
    readyReps: 10,
    switchReps: 10,
    proxyCpus: '0',
    loadCpus: '',
    otherApps: 200,
  },
};
type Params = (typeof SIZES)['default'];

const LOAD_APP = 'router-load';
const PROP_APP = 'router-prop';
const SWITCH_APP = 'router-switch';
/** The other apps' names start so: with `router-` (a killed run's are removed by the next), and ahead of the measured app's, whose route a rule per app would reach last. */
const OTHER_APP = 'router-extra-';

const median = (values: number[]) => summarize(values).p50;

const cmp = (name: string, unit: string, value: number, baseline: string, base: number): Figure => ({
  ...compared(name, unit, value, baseline, base),
  // A difference (added latency) can be negative within noise: a ratio of those would mean nothing.
  ...(value > 0 && base > 0 ? {} : { ratio: Number.NaN }),
});

function throughputFigures(t: ThroughputResult, connections: number, latencyConnections: number): Figure[] {
  const runs = (target: Target, c: number) =>
    t.runs.filter((r) => r.target === target && r.connections === c);
  const of = (target: Target, key: 'rps' | 'p50Ms' | 'p99Ms', c = connections) =>
    median(runs(target, c).map((r) => r[key]));
  const cpuPerRequest = (target: Target) =>
    median(runs(target, connections).map((r) => r.proxyCpuUsPerRequest ?? Number.NaN));
  const added = (target: Target, key: 'p50Ms' | 'p99Ms', c = connections) =>
    of(target, key, c) - of('direct', key, c);
  const figures: Figure[] = [];
  for (const target of TARGETS) {
    figures.push(
      { name: `${target}: throughput`, value: of(target, 'rps'), unit: 'req/s' },
      { name: `${target}: latency p50`, value: of(target, 'p50Ms'), unit: 'ms' },
      { name: `${target}: latency p99`, value: of(target, 'p99Ms'), unit: 'ms' },
    );
  }
  figures.push(
    cmp('router ÷ nginx throughput', 'req/s', of('router', 'rps'), 'nginx', of('nginx', 'rps')),
    cmp('router latency p50 vs nginx', 'ms', of('router', 'p50Ms'), 'nginx', of('nginx', 'p50Ms')),
    cmp('router latency p99 vs nginx', 'ms', of('router', 'p99Ms'), 'nginx', of('nginx', 'p99Ms')),
    cmp('router added latency p50', 'ms', added('router', 'p50Ms'), 'nginx added', added('nginx', 'p50Ms')),
    cmp('router added latency p99', 'ms', added('router', 'p99Ms'), 'nginx added', added('nginx', 'p99Ms')),
    cmp('proxy CPU per request', 'µs', cpuPerRequest('router'), 'nginx', cpuPerRequest('nginx')),
    // Not a result: how busy the machine was with work outside this benchmark while it measured.
    {
      name: 'other processes during runs',
      value: median(t.runs.map((r) => (100 * r.otherCpuSeconds) / r.seconds)),
      unit: '% of a CPU',
    },
  );
  if (latencyConnections > 0) {
    const c = latencyConnections;
    figures.push(
      { name: `direct: latency p50, ${c} conn`, value: of('direct', 'p50Ms', c), unit: 'ms' },
      cmp(
        `router added p50, ${c} conn`,
        'ms',
        added('router', 'p50Ms', c),
        'nginx added',
        added('nginx', 'p50Ms', c),
      ),
      cmp(
        `router added p99, ${c} conn`,
        'ms',
        added('router', 'p99Ms', c),
        'nginx added',
        added('nginx', 'p99Ms', c),
      ),
    );
  }
  return figures;
}

async function propagation(
  p: Params,
  api: Awaited<ReturnType<ReturnType<typeof localPlatform>['admin']>>,
  platform: ReturnType<typeof localPlatform>,
  image: string,
): Promise<{ ready: ReadyToRouted[]; switches: (WeightSwitch & { to: string })[] }> {
  const propHost = await createApp(api, PROP_APP, platform.baseDomain, [
    { image, label: 'v1', cpu: 100, instances: 1 },
  ]);
  const switchHost = await createApp(api, SWITCH_APP, platform.baseDomain, [
    { image, label: 'v1', cpu: 100, instances: 1 },
    { image, label: 'v2', cpu: 100, instances: 1 },
  ]);
  await waitReady(api, PROP_APP, 1, 1);
  await waitReady(api, SWITCH_APP, 1, 1);
  await waitReady(api, SWITCH_APP, 2, 1);
  const watch = await InstanceEventWatch.start(
    platform.env.PIER_NATS_URL ?? 'nats://127.0.0.1:4222',
    platform.env.PIER_PREFIX ?? 'pier',
  );
  const samplers: RoutedSampler[] = [];
  try {
    const propSampler = new RoutedSampler(platform.routerPort, propHost, 2);
    samplers.push(propSampler);
    propSampler.start();
    await waitFor(`${PROP_APP} answers through the router`, 30_000, async () =>
      propSampler.samples.some((s) => s.status === 200) ? true : undefined,
    );
    const ready: ReadyToRouted[] = [];
    for (let i = 0; i < p.readyReps; i++) {
      const r = await readyToRouted(api, PROP_APP, 1, watch, propSampler);
      ready.push(r);
      logRep('ready → routed', i, p.readyReps, r.propagationMs);
    }
    await propSampler.stop();

    await setTraffic(api, SWITCH_APP, { '1': 100, '2': 0 });
    const switchSampler = new RoutedSampler(platform.routerPort, switchHost, 2);
    samplers.push(switchSampler);
    switchSampler.start();
    await waitFor(`${SWITCH_APP} on v1 only`, 30_000, async () => {
      switchSampler.reset();
      await new Promise((r) => setTimeout(r, 500));
      const got = switchSampler.samples;
      return got.length > 20 && got.every((s) => s.label === 'v1') ? true : undefined;
    });
    const switches: (WeightSwitch & { to: string })[] = [];
    for (let i = 0; i < p.switchReps; i++) {
      const to = i % 2 === 0 ? 'v2' : 'v1';
      const weights = to === 'v2' ? { '1': 0, '2': 100 } : { '1': 100, '2': 0 };
      const s = await weightSwitch(api, SWITCH_APP, weights, to, switchSampler);
      switches.push({ ...s, to });
      logRep(`weight switch → ${to}`, i, p.switchReps, s.propagationMs);
    }
    return { ready, switches };
  } finally {
    for (const s of samplers) await s.stop();
    await watch.close();
  }
}

/** Runs `work` over `items`, eight at a time. */
async function inLanes<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: 8 }, lane));
}

/** Apps with a routable version (an HTTP port) and no instance: entries of the route table that serve nothing. */
async function createOtherApps(api: ApiClient, count: number, image: string): Promise<void> {
  await inLanes(
    Array.from({ length: count }, (_, i) => `${OTHER_APP}${i}`),
    async (app) => {
      await api.must('POST', `/spaces/${SPACE}/apps`, { name: app, cluster: 'default' });
      await api.must('POST', `/spaces/${SPACE}/apps/${app}/versions`, backendVersion(image, app, 100));
    },
  );
}

function tool(path: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: run bench/deps.sh (as root) first`);
}

runBench(
  'router',
  () => parseArgs(process.argv.slice(2), SIZES),
  async (p) => {
    const params: Params = { ...p, loadCpus: p.loadCpus || defaultLoadCpus() };
    tool('/usr/bin/wrk');
    tool('/usr/sbin/nginx');
    tool('/usr/bin/taskset');
    const platform = localPlatform();
    const api = await platform.admin();
    progress('backend image');
    const image = ensureBackendImage();
    progress(`backend image ${image}`);
    await ensureSpace(api);
    const leftover = await leftoverApps(api);
    if (leftover.length > 0) progress(`removing ${leftover.length} apps left over by an earlier run`);
    await inLanes(leftover, (app) => removeApp(api, app));
    try {
      progress(`${params.otherApps} other apps in the route table`);
      await createOtherApps(api, params.otherApps, image);
      const loadHost = await createApp(api, LOAD_APP, platform.baseDomain, [
        { image, label: 'load', cpu: 1000, instances: 1 },
      ]);
      await waitReady(api, LOAD_APP, 1, 1);
      await waitFor(`${loadHost} answers through the router`, 30_000, async () =>
        (await routedGet(platform.routerPort, loadHost)).status === 200 ? true : undefined,
      );
      progress('throughput: wrk against direct, router and nginx');
      const throughput = await measureThroughput(platform, api, LOAD_APP, loadHost, params);
      await removeApp(api, LOAD_APP);
      progress('propagation: ready → routed, and weight switches');
      const { ready, switches } = await propagation(params, api, platform, image);
      const readyMs = summarize(ready.map((r) => r.propagationMs));
      const switchMs = summarize(switches.map((s) => s.propagationMs));
      return {
        figures: [
          {
            name: 'apps in the route table during throughput runs',
            value: throughput.haproxyApps,
            unit: 'apps',
          },
          {
            name: 'HTTP frontend rules each request runs through',
            value: throughput.haproxyFrontendRules,
            unit: 'rules',
          },
          ...throughputFigures(throughput, params.connections, params.latencyConnections),
          { name: 'ready → routed p50', value: readyMs.p50, unit: 'ms' },
          { name: 'ready → routed max', value: readyMs.max, unit: 'ms' },
          { name: 'weight call → all routed p50', value: switchMs.p50, unit: 'ms' },
          { name: 'weight call → all routed max', value: switchMs.max, unit: 'ms' },
          {
            name: 'requests failed in switches',
            value: switches.reduce((n, s) => n + s.failed, 0),
            unit: `of ${switches.reduce((n, s) => n + s.requests, 0)}`,
          },
        ],
        details: {
          image,
          pinning: { proxyCpus: params.proxyCpus, loadCpus: params.loadCpus },
          haproxyThreads: throughput.haproxyThreads,
          haproxyThreadsExceedCpus: throughput.haproxyThreadsExceedCpus,
          haproxyApps: throughput.haproxyApps,
          haproxyFrontendRules: throughput.haproxyFrontendRules,
          nginxWorkers: throughput.nginxWorkers,
          nginxConfig: throughput.nginxConfig,
          runs: throughput.runs,
          readyToRouted: {
            summary: readyMs,
            eventDelivery: summarize(ready.map((r) => r.eventDeliveryMs)),
            samples: ready,
          },
          weightSwitch: {
            summary: switchMs,
            firstNewResponse: summarize(switches.map((s) => s.firstNewMs)),
            apiCall: summarize(switches.map((s) => s.apiMs)),
            samples: switches,
          },
        },
      };
    } finally {
      progress('removing the benchmark apps');
      await Promise.allSettled([LOAD_APP, PROP_APP, SWITCH_APP].map((app) => removeApp(api, app)));
      await inLanes(await leftoverApps(api), (app) => removeApp(api, app));
    }
  },
);
