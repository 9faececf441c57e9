import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from './lib/args';
import {
  clusterWithToken,
  type ControlPlane,
  parseLayout,
  reportServiceOutput,
  startControlPlane,
  waitNodesReady,
} from './lib/control-plane';
import { startHollowFleet } from './lib/hollow';
import { ApiClient, sleep } from './lib/local-platform';
import { startBareHttp } from './lib/bare-http';
import { readProc } from './lib/procfs';
import { type Figure, progress, runBench } from './lib/report';
import { ratio, summarize } from './lib/stats';
import { perCall, rates, TrafficCounter } from './lib/traffic-count';

/**
 * bench:api — an open-loop load of mutating API calls at a fixed offered rate against an isolated control
 * plane with hollow nodes; latency runs from each call's scheduled send time, so a slow answer delays no
 * later call and is never hidden (no coordinated omission). Baseline: a read (GET app) at the same rate.
 */
const SIZES = {
  quick: {
    nodes: 50,
    processes: 1,
    rate: 200,
    seconds: 10,
    poolApps: 10,
    cpuProfile: 0,
    overload: 3,
    costSeconds: 10,
    mix: 'create-app,create-version,scale,traffic',
    layout: 'one-process',
  },
  default: {
    nodes: 200,
    processes: 1,
    rate: 200,
    seconds: 60,
    poolApps: 20,
    cpuProfile: 0,
    overload: 3,
    costSeconds: 30,
    mix: 'create-app,create-version,scale,traffic',
    layout: 'one-process',
  },
};
type Params = (typeof SIZES)['default'];

const SPACE = 'load';
const KINDS = ['create-app', 'create-version', 'scale', 'traffic'] as const;
type Kind = (typeof KINDS)[number] | 'get-app';
/** The kinds the mutating phases send, in turn (`--mix`, all four by default). */
let mix: readonly (typeof KINDS)[number][] = KINDS;

function parseMix(value: string): readonly (typeof KINDS)[number][] {
  const kinds = value.split(',').map((k) => k.trim());
  const unknown = kinds.filter((k) => !(KINDS as readonly string[]).includes(k));
  if (kinds.length === 0 || unknown.length > 0)
    throw new Error(`--mix takes kinds among ${KINDS.join(', ')}; not ${unknown.join(', ')}`);
  return kinds as (typeof KINDS)[number][];
}

const VERSION = {
  image: 'pier/busybox:latest',
  command: ['sleep', 'infinity'],
  resources: { cpu: 10, memory: 16 },
};

interface Call {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
}

/** The i-th call of the mutating mix: the four kinds in turn, on the pool's apps or new ones. */
function mutating(i: number, pool: number): { kind: Kind; call: Call } {
  const kind = mix[i % mix.length]!;
  const app = `pool-${Math.floor(i / mix.length) % pool}`;
  const base = `/spaces/${SPACE}/apps`;
  switch (kind) {
    case 'create-app':
      return { kind, call: { method: 'POST', path: base, body: { name: `new-${i}`, cluster: 'main' } } };
    case 'create-version':
      return { kind, call: { method: 'POST', path: `${base}/${app}/versions`, body: VERSION } };
    case 'scale':
      return {
        kind,
        call: { method: 'POST', path: `${base}/${app}/versions/1/scale`, body: { instances: 1 + (i % 3) } },
      };
    case 'traffic': {
      const w = 10 + (i % 81);
      return {
        kind,
        call: { method: 'PUT', path: `${base}/${app}/traffic`, body: { weights: { '1': w, '2': 100 - w } } },
      };
    }
  }
}

function reading(i: number, pool: number): { kind: Kind; call: Call } {
  return { kind: 'get-app', call: { method: 'GET', path: `/spaces/${SPACE}/apps/pool-${i % pool}` } };
}

interface Outcome {
  readonly kind: Kind;
  readonly latencyMs: number;
  readonly status: number;
  readonly code?: string;
  readonly retryAfter?: string | null;
}

/**
 * Sends `rate × seconds` calls, the i-th at t0 + i/rate whatever happened to the earlier ones; waits for
 * every answer (or its own 30 s timeout).
 */
type Caller = Pick<ControlPlane['admin'], 'call'>;

async function openLoop(
  client: Caller,
  rate: number,
  seconds: number,
  next: (i: number) => { kind: Kind; call: Call },
): Promise<{ outcomes: Outcome[]; sendSpanSeconds: number; lateSendsMs: number[] }> {
  const total = Math.round(rate * seconds);
  const outcomes: Outcome[] = [];
  const pending: Promise<void>[] = [];
  const lateSendsMs: number[] = [];
  const t0 = performance.now() + 50;
  let i = 0;
  while (i < total) {
    const now = performance.now();
    while (i < total && t0 + (i * 1000) / rate <= now) {
      const scheduled = t0 + (i * 1000) / rate;
      lateSendsMs.push(now - scheduled);
      const { kind, call } = next(i);
      pending.push(
        client
          .call<{ error?: { code?: string } }>(call.method, call.path, call.body)
          .then(
            (reply) => ({
              kind,
              latencyMs: performance.now() - scheduled,
              status: reply.status,
              code: reply.body?.error?.code,
              retryAfter: reply.headers.get('retry-after'),
            }),
            (error: unknown) => ({
              kind,
              latencyMs: performance.now() - scheduled,
              status: 0,
              code: (error as Error).message.slice(0, 60),
            }),
          )
          .then((o) => void outcomes.push(o)),
      );
      i++;
    }
    const wait = t0 + (i * 1000) / rate - performance.now();
    await sleep(Math.max(0, Math.min(wait, 5)));
  }
  const sendSpanSeconds = (performance.now() - t0) / 1000;
  await Promise.all(pending);
  return { outcomes, sendSpanSeconds, lateSendsMs };
}

function report(result: Awaited<ReturnType<typeof openLoop>>) {
  const { outcomes } = result;
  const ok = outcomes.filter((o) => o.status >= 200 && o.status < 300);
  const errors: Record<string, number> = {};
  for (const o of outcomes) {
    if (o.status >= 200 && o.status < 300) continue;
    const key = `${o.kind} ${o.status} ${o.code ?? ''}`.trim();
    errors[key] = (errors[key] ?? 0) + 1;
  }
  const byKind: Record<string, unknown> = {};
  for (const kind of new Set(outcomes.map((o) => o.kind))) {
    byKind[kind] = summarize(outcomes.filter((o) => o.kind === kind).map((o) => o.latencyMs));
  }
  return {
    all: summarize(outcomes.map((o) => o.latencyMs)),
    ok: ok.length,
    failed: outcomes.length - ok.length,
    errors,
    byKind,
    achievedSendRate: outcomes.length / result.sendSpanSeconds,
    lateSendsMs: summarize(result.lateSendsMs),
  };
}

/** A call refused as overload: 429 or 503 with `Retry-After`, so the client knows when to come back. */
const isRefusal = (o: Outcome) => (o.status === 429 || o.status === 503) && !!o.retryAfter;
/** A call that waited out a deadline: the gateway's (504) or the client's own (no answer). */
const isDeadline = (o: Outcome) => o.status === 504 || o.status === 0;

/** The overload phase: what got through (goodput), what was refused and how fast, what waited out a deadline. */
function overloadReport(result: Awaited<ReturnType<typeof openLoop>>) {
  const { outcomes } = result;
  const ok = outcomes.filter((o) => o.status >= 200 && o.status < 300);
  const refused = outcomes.filter(isRefusal);
  const deadline = outcomes.filter(isDeadline);
  return {
    ...report(result),
    goodputPerSecond: ok.length / result.sendSpanSeconds,
    accepted: summarize(ok.map((o) => o.latencyMs)),
    refused: refused.length,
    refusedLatency: summarize(refused.map((o) => o.latencyMs)),
    deadline: deadline.length,
    otherFailures: outcomes.length - ok.length - refused.length - deadline.length,
  };
}

async function createPool(cp: ControlPlane, pool: number): Promise<void> {
  await cp.admin.must('POST', '/spaces', { name: SPACE });
  // New spaces get the platform's default quota; a benchmark measures the platform, not its limits.
  await cp.admin.must('PUT', `/spaces/${SPACE}/quota`, {
    maxApps: null,
    maxInstances: null,
    maxCpuMillicores: null,
    maxMemoryMiB: null,
  });
  for (let i = 0; i < pool; i++) {
    const base = `/spaces/${SPACE}/apps/pool-${i}`;
    await cp.admin.must('POST', `/spaces/${SPACE}/apps`, { name: `pool-${i}`, cluster: 'main' });
    await cp.admin.must('POST', `${base}/versions`, VERSION);
    await cp.admin.must('POST', `${base}/versions`, VERSION);
    await cp.admin.must('POST', `${base}/versions/1/deploy`, { instances: 1 });
    await cp.admin.must('POST', `${base}/versions/2/deploy`, { instances: 1 });
  }
}

function cpuOf(cp: ControlPlane): number {
  return cp.hosts.reduce((s, p) => s + (readProc(p.child.pid!)?.cpuSeconds ?? 0), 0);
}

/** CPU seconds so far of each control-plane process (a service each, or the one platform process). */
function cpuByService(cp: ControlPlane): Record<string, number> {
  return Object.fromEntries(cp.hosts.map((p) => [p.name, readProc(p.child.pid!)?.cpuSeconds ?? 0]));
}

/** CPU % of a core of each service between two readings over `seconds`. */
function cpuShare(before: Record<string, number>, after: Record<string, number>, seconds: number) {
  return Object.fromEntries(
    Object.keys(after).map((name) => [
      name,
      Math.round(((after[name]! - (before[name] ?? 0)) / seconds) * 1000) / 10,
    ]),
  );
}

async function run(params: Params): Promise<{ figures: Figure[]; details: Record<string, unknown> }> {
  if (params.rate <= 0 || params.seconds <= 0) throw new Error('--rate and --seconds must be positive');
  mix = parseMix(params.mix);
  const profileDir = params.cpuProfile ? mkdtempSync(join(tmpdir(), 'pier-api-prof-')) : undefined;
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const cp = await startControlPlane('api', {
    layout: parseLayout(params.layout),
    env: { PIER_NODE_LOST_AFTER_MS: '30000' },
    ...(profileDir
      ? { nodeFlags: { gateway: profile, auth: profile, scheduler: profile, clusters: profile } }
      : {}),
  });
  let traffic: TrafficCounter | undefined;
  try {
    const { clusterId, token } = await clusterWithToken(cp);
    await startHollowFleet(cp, {
      token,
      nodes: params.nodes,
      processes: params.processes,
      cpuMillicores: 64_000,
      memoryMiB: 1_048_576,
      timeoutMs: 240_000,
    });
    await waitNodesReady(cp, clusterId, params.nodes, 120_000);
    progress(`creating ${params.poolApps} apps with two deployed versions`);
    await createPool(cp, params.poolApps);
    await sleep(2000);
    traffic = await TrafficCounter.start(cp.env.PIER_NATS_URL!, cp.env.PIER_DATABASE_URL!);
    progress('background: NATS messages and Postgres transactions of the quiet control plane, 5 s');
    const quietFrom = await traffic.totals();
    await sleep(5000);
    const background = rates(quietFrom, await traffic.totals());

    progress(`baseline: GET app at ${params.rate}/s for ${params.seconds} s`);
    let cpu = cpuOf(cp);
    let perService = cpuByService(cp);
    let from = await traffic.totals();
    const read = report(
      await openLoop(cp.admin, params.rate, params.seconds, (i) => reading(i, params.poolApps)),
    );
    const readCpu = ((cpuOf(cp) - cpu) / params.seconds) * 100;
    const readByService = cpuShare(perService, cpuByService(cp), params.seconds);
    const readTraffic = perCall(from, await traffic.totals(), background, read.ok + read.failed);
    const cost = await costPhases(cp, params);
    progress(`mutating mix at ${params.rate}/s for ${params.seconds} s`);
    cpu = cpuOf(cp);
    perService = cpuByService(cp);
    from = await traffic.totals();
    const write = report(
      await openLoop(cp.admin, params.rate, params.seconds, (i) => mutating(i, params.poolApps)),
    );
    const writeCpu = ((cpuOf(cp) - cpu) / params.seconds) * 100;
    const writeByService = cpuShare(perService, cpuByService(cp), params.seconds);
    const writeTraffic = perCall(from, await traffic.totals(), background, write.ok + write.failed);
    const overloadRate = params.rate * params.overload;
    progress(`overload: mutating mix at ${overloadRate}/s (${params.overload} x) for ${params.seconds} s`);
    cpu = cpuOf(cp);
    const overload = overloadReport(
      // Continues the mix where the last phase ended: the same kinds in turn, new app names.
      await openLoop(cp.admin, overloadRate, params.seconds, (i) =>
        mutating(i + params.rate * params.seconds, params.poolApps),
      ),
    );
    const overloadCpu = ((cpuOf(cp) - cpu) / params.seconds) * 100;
    const writeGoodput = (write.ok / (write.ok + write.failed)) * write.achievedSendRate;
    const vs = (value: number, base: number, unit: string, name: string): Figure => ({
      name,
      value,
      unit,
      baseline: { name: `GET app at ${params.rate}/s`, value: base },
      ratio: ratio(value, base),
    });
    const figures: Figure[] = [
      vs(
        write.all.p50,
        read.all.p50,
        'ms',
        `mutating calls p50 (${params.rate}/s offered, ${params.nodes} hollow nodes)`,
      ),
      vs(write.all.p99, read.all.p99, 'ms', 'mutating calls p99'),
      vs(write.all.max, read.all.max, 'ms', 'mutating calls max'),
      vs(write.achievedSendRate, read.achievedSendRate, 'calls/s', 'achieved send rate'),
      vs(write.failed, read.failed, 'calls', 'non-2xx or failed calls'),
      vs(writeCpu, readCpu, '% of a core', `control-plane CPU (4 services, ${cp.layout} layout)`),
      vs(writeTraffic.natsMessages, readTraffic.natsMessages, 'per call', 'NATS messages per call'),
      vs(
        writeTraffic.pgTransactions,
        readTraffic.pgTransactions,
        'per call',
        'Postgres transactions per call',
      ),
      {
        name: `overload (${overloadRate}/s offered): goodput, 2xx answers per second`,
        value: overload.goodputPerSecond,
        unit: 'calls/s',
        baseline: { name: `goodput at ${params.rate}/s`, value: writeGoodput },
        ratio: ratio(overload.goodputPerSecond, writeGoodput),
      },
      { name: 'overload: accepted calls p99', value: overload.accepted.p99, unit: 'ms' },
      { name: 'overload: refused with 429/503 and Retry-After', value: overload.refused, unit: 'calls' },
      { name: 'overload: refusals answered within, p99', value: overload.refusedLatency.p99, unit: 'ms' },
      { name: 'overload: refusals answered within, max', value: overload.refusedLatency.max, unit: 'ms' },
      { name: 'overload: calls that waited out a deadline', value: overload.deadline, unit: 'calls' },
      { name: 'overload: other failures', value: overload.otherFailures, unit: 'calls' },
      { name: 'overload: control-plane CPU', value: overloadCpu, unit: '% of a core' },
      ...costFigures(params.rate, { cpu: readCpu, ok: read.ok, failed: read.failed }, cost),
    ];
    return {
      figures,
      details: {
        definitions: {
          latency: "from the call's scheduled send time (t0 + i / rate) to the end of its response body",
          mix: 'create app, create version, scale (1–3 instances), PUT traffic — in turn, on a pool of apps with two deployed versions',
          baseline: 'GET /spaces/{space}/apps/{app} on the pool at the same rate and duration, run first',
          overload:
            'the mutating mix at --overload times the rate for the same duration, run last; goodput: 2xx answers per second of sending; refusals: 429 or 503 with Retry-After; waited out a deadline: 504 or no answer within 30 s',
          cost: 'CPU per call = control-plane CPU over the phase ÷ calls sent; marginal = the CPU one more call a second adds, from two phases at different rates: (CPU at the higher rate − CPU at the lower) ÷ the difference of the rates — what a call costs once the fixed cost of waking idle processes, which this machine charges heavily, is shared (not given when more than 1 % of the calls of a phase were refused). Baseline: a bare Fastify server answering GET /hello in a process of its own, at the same rates',
          traffic:
            'every message published on the NATS server and every Postgres transaction of the database during a phase, minus the background rate of a 5 s quiet window (200 hollow nodes heartbeating, anything else on the server), per call',
        },
        mutating: write,
        read,
        overload,
        cpuPercent: { mutating: writeCpu, read: readCpu, overload: overloadCpu },
        cost,
        cpuPercentByService: { mutating: writeByService, read: readByService },
        trafficPerCall: { mutating: writeTraffic, read: readTraffic, background },
        ...(profileDir ? { cpuProfiles: profileDir } : {}),
      },
    };
  } catch (error) {
    reportServiceOutput(cp);
    throw error;
  } finally {
    await traffic?.stop();
    await cp.stop();
  }
}

/** CPU (% of a core) of the control plane while `rate` calls a second of `next` are sent. */
async function cpuUnder(
  cp: ControlPlane,
  client: Caller,
  rate: number,
  seconds: number,
  next: (i: number) => { kind: Kind; call: Call },
  cpuNow: () => number = () => cpuOf(cp),
): Promise<{ cpu: number; ok: number; failed: number }> {
  const before = cpuNow();
  const result = report(await openLoop(client, rate, seconds, next));
  return { cpu: ((cpuNow() - before) / seconds) * 100, ok: result.ok, failed: result.failed };
}

interface CostPhases {
  readonly readDouble: { cpu: number; ok: number; failed: number };
  readonly writeEighth: { cpu: number; ok: number; failed: number };
  readonly writeQuarter: { cpu: number; ok: number; failed: number };
  readonly bare: { cpu: number; ok: number; failed: number };
  readonly bareDouble: { cpu: number; ok: number; failed: number };
}

/**
 * The phases that price a call: reads at twice the rate (the baseline gave the rate), the mutating mix
 * at an eighth and a quarter of the rate (below what the control plane sustains, so nothing is refused),
 * and a bare Fastify server at the rate and twice it.
 */
async function costPhases(cp: ControlPlane, params: Params): Promise<CostPhases> {
  const { rate, costSeconds: seconds, poolApps } = params;
  progress(`cost: GET app at ${2 * rate}/s for ${seconds} s`);
  const readDouble = await cpuUnder(cp, cp.admin, 2 * rate, seconds, (i) => reading(i, poolApps));
  // New app names of their own: the main phases count from 0.
  progress(`cost: mutating mix at ${rate / 8}/s and ${rate / 4}/s for ${seconds} s each`);
  const writeEighth = await cpuUnder(cp, cp.admin, rate / 8, seconds, (i) => mutating(i + 1e6, poolApps));
  const writeQuarter = await cpuUnder(cp, cp.admin, rate / 4, seconds, (i) => mutating(i + 2e6, poolApps));
  progress(`cost: a bare Fastify server at ${rate}/s and ${2 * rate}/s for ${seconds} s each`);
  const server = await startBareHttp();
  try {
    const client = new ApiClient(server.url, 'none');
    const hello = () => ({ kind: 'get-app' as const, call: { method: 'GET', path: '/hello' } });
    const cpuNow = () => readProc(server.pid)?.cpuSeconds ?? 0;
    const bare = await cpuUnder(cp, client, rate, seconds, hello, cpuNow);
    const bareDouble = await cpuUnder(cp, client, 2 * rate, seconds, hello, cpuNow);
    return { readDouble, writeEighth, writeQuarter, bare, bareDouble };
  } finally {
    await server.stop();
  }
}

/** Milliseconds of CPU per call from % of a core at `rate` calls a second. */
const msPerCall = (cpuPercent: number, rate: number) => (cpuPercent * 10) / rate;
/**
 * Milliseconds of CPU one more call a second adds, between two rates; NaN when more than 1 % of either
 * phase's calls failed (a refused call costs less, and the difference would flatter the price).
 */
const marginal = (
  low: { cpu: number; ok: number; failed: number },
  high: { cpu: number; ok: number; failed: number },
  lowRate: number,
  highRate: number,
) =>
  [low, high].some((p) => p.failed > 0.01 * (p.ok + p.failed))
    ? Number.NaN
    : ((high.cpu - low.cpu) * 10) / (highRate - lowRate);

function costFigures(
  rate: number,
  read: { cpu: number; ok: number; failed: number },
  c: CostPhases,
): Figure[] {
  const readAt = msPerCall(read.cpu, rate);
  const readMarginal = marginal(read, c.readDouble, rate, 2 * rate);
  const figure = (name: string, value: number, base: number, baseName: string): Figure => ({
    name,
    value,
    unit: 'ms CPU',
    baseline: { name: baseName, value: base },
    ratio: ratio(value, base),
  });
  return [
    figure(`CPU per read at ${rate}/s`, readAt, msPerCall(c.bare.cpu, rate), `bare Fastify at ${rate}/s`),
    figure(
      `CPU per read, marginal (${rate}→${2 * rate}/s)`,
      readMarginal,
      readAt,
      `CPU per read at ${rate}/s`,
    ),
    figure(
      `CPU per mutating call at ${rate / 4}/s`,
      msPerCall(c.writeQuarter.cpu, rate / 4),
      msPerCall(c.bare.cpu, rate),
      `bare Fastify at ${rate}/s`,
    ),
    figure(
      `CPU per mutating call, marginal (${rate / 8}→${rate / 4}/s)`,
      marginal(c.writeEighth, c.writeQuarter, rate / 8, rate / 4),
      readMarginal,
      'CPU per read, marginal',
    ),
    {
      name: `bare Fastify: CPU per call at ${2 * rate}/s`,
      value: msPerCall(c.bareDouble.cpu, 2 * rate),
      unit: 'ms CPU',
      baseline: { name: `bare Fastify at ${rate}/s`, value: msPerCall(c.bare.cpu, rate) },
      ratio: ratio(msPerCall(c.bareDouble.cpu, 2 * rate), msPerCall(c.bare.cpu, rate)),
    },
  ];
}

runBench(
  'api',
  () => parseArgs(process.argv.slice(2), SIZES),
  (params) => run(params),
);
