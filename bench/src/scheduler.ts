import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { type NatsConnection } from '@nats-io/transport-node';
import { subjectsFor } from '@pier/contracts';
import { connectTestNats } from '@pier/testing';
import { parseArgs } from './lib/args';
import {
  clusterWithToken,
  type ControlPlane,
  reportServiceOutput,
  startControlPlane,
  waitNodesReady,
} from './lib/control-plane';
import { startHollowFleet } from './lib/hollow';
import { sleep } from './lib/local-platform';
import { readProc } from './lib/procfs';
import { type Figure, progress, runBench } from './lib/report';
import { ratio, summarize } from './lib/stats';

/**
 * bench:scheduler — hollow agents (the real agent with an in-memory container driver) join an isolated
 * control plane; a batch of instances across many apps is deployed through the API. A placement counts
 * when its assignment (`InstanceAssigned`, or its entry in its node's `InstancesAssigned`) is stored in
 * JetStream and its agent's `InstanceStarted` is stored too.
 */
const SIZES = {
  quick: {
    nodes: 100,
    instances: 2000,
    apps: 20,
    processes: 1,
    idleSeconds: 5,
    budgetSeconds: 45,
    cpuProfile: 0,
    joinConcurrency: 2,
    deployConcurrency: 4,
  },
  default: {
    nodes: 1000,
    instances: 10000,
    apps: 100,
    processes: 2,
    idleSeconds: 10,
    budgetSeconds: 240,
    cpuProfile: 0,
    joinConcurrency: 2,
    deployConcurrency: 4,
  },
};
type Params = (typeof SIZES)['default'];

const SPACE = 'bench';
/** External reference figures (not measured here). */
const NOMAD_C1M_PER_S = 3750;
const KUBE_SCHEDULER_FLOOR_PER_S = 270;

/** Per-instance stored times (epoch ms, from JetStream's own timestamps). */
interface Track {
  requested?: number;
  assigned?: number;
  started?: number;
  ready?: number;
}

/** Follows the runtime events of the prefix as stored: an ordered consumer from "now" on. */
class PlacementObserver {
  readonly instances = new Map<string, Track>();
  readonly counts: Record<string, number> = {};
  /** Instances assigned to a node, whether one event said so or a node's batch did. */
  assignments = 0;
  /** Stored time of each durable placement, in the order they became durable. */
  readonly durableAt: number[] = [];
  private stopped = false;
  private done?: Promise<void>;

  async start(nc: NatsConnection, prefix: string): Promise<void> {
    const subjects = subjectsFor(prefix);
    const consumer = await jetstream(nc).consumers.get(subjects.eventStream, {
      filter_subjects: subjects.context('runtime'),
      deliver_policy: DeliverPolicy.New,
    });
    const messages = await consumer.consume({ max_messages: 2000 });
    this.done = (async () => {
      for await (const m of messages) {
        if (this.stopped) break;
        this.handle(m.json(), Math.floor(Number(m.info.timestampNanos) / 1e6));
      }
    })();
    this.stop = async () => {
      this.stopped = true;
      await messages.close();
      await this.done;
    };
  }

  stop: () => Promise<void> = async () => undefined;

  private handle(
    event: { type: string; data: { instanceId?: string; assignments?: { instanceId: string }[] } },
    storedMs: number,
  ): void {
    this.counts[event.type] = (this.counts[event.type] ?? 0) + 1;
    if (event.type === 'InstancesAssigned') {
      // One event per node and plan (ADR 0008): each of its assignments is one instance assigned.
      for (const a of event.data.assignments ?? []) this.track(a.instanceId, 'InstanceAssigned', storedMs);
      return;
    }
    if (event.data.instanceId) this.track(event.data.instanceId, event.type, storedMs);
  }

  private track(id: string, type: string, storedMs: number): void {
    if (type === 'InstanceAssigned') this.assignments++;
    let t = this.instances.get(id);
    if (!t) this.instances.set(id, (t = {}));
    const wasDurable = t.assigned !== undefined && t.started !== undefined;
    if (type === 'InstanceRequested') t.requested ??= storedMs;
    else if (type === 'InstanceAssigned') t.assigned ??= storedMs;
    else if (type === 'InstanceStarted') t.started ??= storedMs;
    else if (type === 'InstanceReady') t.ready ??= storedMs;
    if (!wasDurable && t.assigned !== undefined && t.started !== undefined) {
      this.durableAt.push(Math.max(t.assigned, t.started));
    }
  }
}

/** CPU and RSS of a set of processes sampled once a second. */
class Sampler {
  private timer?: NodeJS.Timeout;
  private readonly peaks = new Map<string, number>();
  private first = new Map<string, number>();
  private last = new Map<string, number>();
  private startedAt = 0;
  private endedAt = 0;

  constructor(private readonly pids: Record<string, number[]>) {}

  start(): void {
    this.startedAt = Date.now();
    this.first = this.cpu();
    this.timer = setInterval(() => this.sample(), 1000);
    this.sample();
  }

  stop(): Record<string, { cpuPercent: number; peakRssMiB: number }> {
    clearInterval(this.timer);
    this.sample();
    this.endedAt = Date.now();
    this.last = this.cpu();
    const seconds = (this.endedAt - this.startedAt) / 1000;
    const out: Record<string, { cpuPercent: number; peakRssMiB: number }> = {};
    for (const name of Object.keys(this.pids)) {
      out[name] = {
        cpuPercent: ((this.last.get(name)! - this.first.get(name)!) / seconds) * 100,
        peakRssMiB: (this.peaks.get(name) ?? 0) / 1024,
      };
    }
    return out;
  }

  private cpu(): Map<string, number> {
    const m = new Map<string, number>();
    for (const [name, pids] of Object.entries(this.pids)) {
      m.set(
        name,
        pids.reduce((sum, pid) => sum + (readProc(pid)?.cpuSeconds ?? 0), 0),
      );
    }
    return m;
  }

  private sample(): void {
    for (const [name, pids] of Object.entries(this.pids)) {
      const rss = pids.reduce((sum, pid) => sum + (readProc(pid)?.rssKiB ?? 0), 0);
      this.peaks.set(name, Math.max(this.peaks.get(name) ?? 0, rss));
    }
  }
}

/** Heartbeats received on the prefix's heartbeat subjects and the services' CPU while nothing else happens. */
async function idleLoad(
  nc: NatsConnection,
  cp: ControlPlane,
  pids: Record<string, number[]>,
  seconds: number,
) {
  let beats = 0;
  const sub = nc.subscribe(subjectsFor(cp.prefix).allHeartbeats, { callback: () => void beats++ });
  const sampler = new Sampler(pids);
  sampler.start();
  await sleep(seconds * 1000);
  const usage = sampler.stop();
  sub.unsubscribe();
  return { heartbeatsPerSecond: beats / seconds, usage };
}

/** Top self-time functions of a V8 `.cpuprofile`, each with the callers its time came through most. */
function summarizeProfile(file: string, top = 15) {
  type CallFrame = { functionName: string; url: string; lineNumber: number };
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
    samples: number[];
    timeDeltas: number[];
  };
  const name = (f: CallFrame) => {
    const where = f.url
      ? `${f.url.replace(/^.*\/(node_modules|services|libs)\//, '$1/')}:${f.lineNumber + 1}`
      : '';
    return `${f.functionName || '(anonymous)'} ${where}`.trim();
  };
  const frame = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** The nearest callers of a node that are not native or node-internal frames. */
  const stack = (id: number, depth = 4) => {
    const out: string[] = [];
    for (let p = parent.get(id); p !== undefined && out.length < depth; p = parent.get(p)) {
      const f = frame.get(p)!;
      if (f.url && !f.url.startsWith('node:')) out.push(name(f));
    }
    return out.join(' < ');
  };
  const self = new Map<string, number>();
  const via = new Map<string, Map<string, number>>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const key = name(frame.get(id)!);
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    self.set(key, (self.get(key) ?? 0) + dt);
    const callers = via.get(key) ?? new Map<string, number>();
    const s = stack(id);
    callers.set(s, (callers.get(s) ?? 0) + dt);
    via.set(key, callers);
  });
  const busy = total - (self.get('(idle)') ?? 0);
  return {
    file,
    profiledSeconds: total / 1e6,
    busySeconds: busy / 1e6,
    topSelf: [...self.entries()]
      .filter(([k]) => k !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([fn, us]) => ({
        fn,
        selfMs: Math.round(us / 1000),
        percentOfBusy: Math.round((us / busy) * 1000) / 10,
        mostlyVia: [...via.get(fn)!.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 2)
          .map(([s, t]) => `${Math.round((t / us) * 100)}%: ${s}`),
      })),
  };
}

/**
 * A preload that lets a profiled service write its profile: Nest closes the app on SIGTERM, then raises
 * the signal again, which ends the process without `--cpu-prof` writing anything. With a listener of
 * its own still there, the second signal exits normally instead.
 */
function exitOnTerm(dir: string): string {
  const file = join(dir, 'exit-on-term.cjs');
  writeFileSync(
    file,
    "let n = 0; process.on('SIGTERM', () => { if (++n > 1) process.exit(0); setTimeout(() => process.exit(0), 10000).unref(); });\n",
  );
  return file;
}

/** The most events within any `windowMs` of an ascending list of times, per second. */
function peakRate(sorted: readonly number[], windowMs: number): number {
  let best = 0;
  for (let lo = 0, hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! > windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best / (windowMs / 1000);
}

async function createApps(cp: ControlPlane, apps: number): Promise<void> {
  await cp.admin.must('POST', '/spaces', { name: SPACE });
  // New spaces get the platform's default quota; a benchmark measures the platform, not its limits.
  await cp.admin.must('PUT', `/spaces/${SPACE}/quota`, {
    maxApps: null,
    maxInstances: null,
    maxCpuMillicores: null,
    maxMemoryMiB: null,
  });
  let next = 0;
  const lane = async () => {
    while (next < apps) {
      const name = `app-${next++}`;
      await cp.admin.must('POST', `/spaces/${SPACE}/apps`, { name, cluster: 'main' });
      await cp.admin.must('POST', `/spaces/${SPACE}/apps/${name}/versions`, {
        image: 'pier/busybox:latest',
        command: ['sleep', 'infinity'],
        resources: { cpu: 10, memory: 16 },
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
}

/**
 * Deploys, retrying a 500/504: the scheduler answers a deploy only once its own read model has caught up with
 * the write, and under a placement burst that wait can time out after the command was stored. Setting the
 * same desired count again is idempotent, so a retry never offers more instances.
 */
async function deployWithRetry(
  cp: ControlPlane,
  app: string,
  instances: number,
  errors: Record<string, number>,
) {
  for (let attempt = 1; ; attempt++) {
    const reply = await cp.admin.call<{ error?: { code: string } }>(
      'POST',
      `/spaces/${SPACE}/apps/${app}/versions/1/deploy`,
      {
        instances,
      },
    );
    if (reply.status === 202) return;
    const key = `${reply.status} ${reply.body?.error?.code ?? ''}`.trim();
    errors[key] = (errors[key] ?? 0) + 1;
    if ((reply.status !== 500 && reply.status !== 504) || attempt >= 20) {
      throw new Error(`deploy of ${app} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    }
    await sleep(1000);
  }
}

async function run(params: Params): Promise<{ figures: Figure[]; details: Record<string, unknown> }> {
  const { nodes, instances, apps, processes } = params;
  if (nodes < 1 || nodes > 5000) throw new Error('--nodes must be 1…5000');
  if (instances < 1 || instances > 150_000) throw new Error('--instances must be 1…150000');
  if (apps < 1 || Math.ceil(instances / apps) > 10_000)
    throw new Error('--apps must give at most 10000 instances per app');
  const perNodeCpu = 64_000;
  const profileDir = params.cpuProfile ? mkdtempSync(join(tmpdir(), 'pier-sched-prof-')) : undefined;
  const heartbeatMs = 1000;
  const lostAfterMs = 30_000;
  const cp = await startControlPlane('sched', {
    // A loaded 2-core machine delays heartbeats; a node marked lost mid-run would turn placements into
    // replacements. The heartbeat period stays the default, so the heartbeat load is the real one.
    env: { PIER_NODE_HEARTBEAT_MS: String(heartbeatMs), PIER_NODE_LOST_AFTER_MS: String(lostAfterMs) },
    serviceEnv: {
      // Deploys queue behind placement work in the scheduler: the gateway waits for them rather than 504.
      gateway: { PIER_RPC_TIMEOUT_MS: '60000' },
    },
    nodeFlags: profileDir
      ? { scheduler: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--require', exitOnTerm(profileDir)] }
      : {},
  });
  let nc: NatsConnection | undefined;
  const observer = new PlacementObserver();
  try {
    const { clusterId, token } = await clusterWithToken(cp);
    const startT = Date.now();
    const fleet = await startHollowFleet(cp, {
      token,
      nodes,
      processes,
      cpuMillicores: perNodeCpu,
      memoryMiB: 1_048_576,
      concurrency: params.joinConcurrency,
      timeoutMs: 300_000,
    });
    await waitNodesReady(cp, clusterId, nodes, 120_000);
    const joinSeconds = (Date.now() - startT) / 1000;
    progress(`${nodes} hollow nodes ready in ${joinSeconds.toFixed(1)} s`);
    const pids: Record<string, number[]> = {
      scheduler: [cp.processes.scheduler.child.pid!],
      clusters: [cp.processes.clusters.child.pid!],
      gateway: [cp.processes.gateway.child.pid!],
      auth: [cp.processes.auth.child.pid!],
      hollow: fleet.map((h) => h.process.child.pid!),
    };
    nc = await connectTestNats('bench-scheduler');
    progress(`measuring idle heartbeat load for ${params.idleSeconds} s`);
    const idle = await idleLoad(nc, cp, pids, params.idleSeconds);

    progress(`creating ${apps} apps`);
    await createApps(cp, apps);
    await observer.start(nc, cp.prefix);
    const sampler = new Sampler(pids);
    sampler.start();
    const deployLatencies: number[] = [];
    const deployErrors: Record<string, number> = {};
    const firstSent = Date.now();
    let next = 0;
    const deployLane = async () => {
      while (next < apps) {
        const i = next++;
        const count = Math.floor(instances / apps) + (i < instances % apps ? 1 : 0);
        const t = performance.now();
        await deployWithRetry(cp, `app-${i}`, count, deployErrors);
        deployLatencies.push(performance.now() - t);
      }
    };
    await Promise.all(Array.from({ length: params.deployConcurrency }, deployLane));
    const deploysDoneMs = Date.now() - firstSent;
    progress(`${apps} deploys accepted in ${deploysDoneMs} ms; waiting for ${instances} durable placements`);
    const deadline = firstSent + params.budgetSeconds * 1000;
    let lastReport = 0;
    while (observer.durableAt.length < instances && Date.now() < deadline) {
      await sleep(250);
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        progress(
          `${observer.durableAt.length}/${instances} durable, assigned ${observer.assignments}, requested ${observer.counts.InstanceRequested ?? 0}`,
        );
      }
    }
    const usage = sampler.stop();
    await sleep(500);
    await observer.stop();
    const durable = observer.durableAt.length;
    if (durable === 0) throw new Error('no placement became durable: nothing to measure');
    const durableSorted = [...observer.durableAt].sort((a, b) => a - b);
    const lastDurable = durableSorted[durableSorted.length - 1]!;
    const throughput = durable / ((lastDurable - firstSent) / 1000);
    const at = (q: number) =>
      durableSorted[Math.min(durableSorted.length - 1, Math.floor(q * durableSorted.length))]!;
    const steady = (Math.floor(0.9 * durable) - Math.floor(0.1 * durable)) / ((at(0.9) - at(0.1)) / 1000);
    const peak = peakRate(durableSorted, 10_000);
    const requestedTimes = [...observer.instances.values()].flatMap((t) =>
      t.requested === undefined ? [] : [t.requested],
    );
    const offeredPerSecond = requestedTimes.length / ((Math.max(...requestedTimes) - firstSent) / 1000);
    const decision: number[] = [];
    const toRunning: number[] = [];
    const agentReport: number[] = [];
    for (const t of observer.instances.values()) {
      if (t.requested !== undefined && t.assigned !== undefined) decision.push(t.assigned - t.requested);
      if (t.requested !== undefined && t.assigned !== undefined && t.started !== undefined) {
        toRunning.push(Math.max(t.assigned, t.started) - t.requested);
      }
      if (t.assigned !== undefined && t.started !== undefined) agentReport.push(t.started - t.assigned);
    }
    const decisionS = summarize(decision);
    const hollowNow = pids.hollow!.reduce((s, pid) => s + (readProc(pid)?.rssKiB ?? 0) * 1024, 0);
    const emptyRss = fleet.reduce((s, h) => s + h.emptyRssBytes, 0);
    const readyRss = fleet.reduce((s, h) => s + h.readyRssBytes, 0);
    const rssPerAgentKiB = (readyRss - emptyRss) / nodes / 1024;
    const rssPerAgentLoadedKiB = (hollowNow - emptyRss) / nodes / 1024;
    const beatsExpected = (nodes * 1000) / heartbeatMs;
    const figures: Figure[] = [
      {
        name: `durable placements/s, whole batch (${durable}/${instances} on ${nodes} nodes)`,
        value: throughput,
        unit: 'placements/s',
        baseline: { name: 'Nomad C1M (reference, not measured here)', value: NOMAD_C1M_PER_S },
        ratio: ratio(throughput, NOMAD_C1M_PER_S),
      },
      {
        name: 'durable placements/s, steady state (10th–90th percentile)',
        value: steady,
        unit: 'placements/s',
        baseline: {
          name: 'kube-scheduler CI floor at 5000 nodes (reference, not measured here)',
          value: KUBE_SCHEDULER_FLOOR_PER_S,
        },
        ratio: ratio(steady, KUBE_SCHEDULER_FLOOR_PER_S),
      },
      { name: 'durable placements/s, best 10 s window', value: peak, unit: 'placements/s' },
      {
        name: 'instances requested/s (how fast the deploy API offered them)',
        value: offeredPerSecond,
        unit: 'instances/s',
      },
      {
        name: 'decision latency p50 (InstanceRequested → assignment stored)',
        value: decisionS.p50,
        unit: 'ms',
      },
      { name: 'decision latency p99', value: decisionS.p99, unit: 'ms' },
      { name: 'RSS per hollow agent (joined, no instances)', value: rssPerAgentKiB, unit: 'KiB' },
      { name: 'RSS per hollow agent at end (with its instances)', value: rssPerAgentLoadedKiB, unit: 'KiB' },
      {
        name: `heartbeats received while idle (${nodes} nodes)`,
        value: idle.heartbeatsPerSecond,
        unit: '/s',
        baseline: { name: `nodes × 1000 / ${heartbeatMs} ms (expected)`, value: beatsExpected },
        ratio: ratio(idle.heartbeatsPerSecond, beatsExpected),
      },
      {
        name: 'clusters service CPU while idle',
        value: idle.usage.clusters!.cpuPercent,
        unit: '% of a core',
      },
      { name: 'scheduler CPU during placement', value: usage.scheduler!.cpuPercent, unit: '% of a core' },
      { name: 'scheduler peak RSS', value: usage.scheduler!.peakRssMiB, unit: 'MiB' },
    ];
    await cp.stop();
    let profile: unknown;
    if (profileDir) {
      const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      profile = file
        ? summarizeProfile(join(profileDir, file))
        : { error: `no .cpuprofile in ${profileDir}` };
      progress(`scheduler profile: ${JSON.stringify(profile, null, 2)}`);
    }
    return {
      figures,
      details: {
        definitions: {
          durablePlacement:
            "an instance whose assignment (InstanceAssigned, or its entry in its node's InstancesAssigned: scheduler → node) and InstanceStarted (hollow agent) are both stored in JetStream; its time is the later of the two stored timestamps",
          throughputWholeBatch:
            'durable placements ÷ (last durable time − time the first deploy request was sent)',
          peakWindow: 'the most durable placements stored within any 10 s window ÷ 10',
          offeredRate:
            'InstanceRequested events stored ÷ (last one stored − first deploy sent): the scheduler writes them when a deploy is accepted, so this is the rate at which the API let the batch in',
          throughputSteady:
            'placements between the 10th and 90th percentile of durable times ÷ that interval',
          decisionLatency:
            "InstanceRequested's stored time → its assignment's stored time, per instance (JetStream timestamps)",
          requestToRunning: 'InstanceRequested stored → durable (assigned and started both stored)',
          agentReport:
            'InstanceAssigned stored → InstanceStarted stored (the hollow agent following its feed and reporting)',
          rssPerAgent:
            "(hollow process RSS when all its agents are ready − the same process's RSS after connecting to NATS, before any agent) ÷ agents",
          heartbeatLoad:
            'messages on <prefix>.hb.> counted by a core NATS subscription over the idle window; CPU from /proc',
          references:
            'Nomad C1M: 1,000,000 containers on 5,000 nodes at ≈3,750/s (HashiCorp, 2020); kube-scheduler CI floor 270 pods/s at 5,000 nodes (SIG scalability). Different hardware, different work: indicative only.',
        },
        settings: {
          heartbeatMs,
          lostAfterMs,
          perNodeCpuMillicores: perNodeCpu,
          instanceResources: { cpu: 10, memory: 16 },
          deployConcurrency: params.deployConcurrency,
        },
        joinSeconds,
        hollowProcesses: fleet.map((h) => ({
          agents: h.agents,
          startMs: h.startMs,
          emptyRssMiB: h.emptyRssBytes / 2 ** 20,
          readyRssMiB: h.readyRssBytes / 2 ** 20,
        })),
        deploys: {
          count: apps,
          acceptedWithinMs: deploysDoneMs,
          apiLatencyMsIncludingRetries: summarize(deployLatencies),
          failedAttemptsRetried: deployErrors,
        },
        durable,
        offered: instances,
        complete: durable === instances,
        batchSeconds: (lastDurable - firstSent) / 1000,
        decisionLatencyMs: decisionS,
        requestToRunningMs: summarize(toRunning),
        agentReportMs: summarize(agentReport),
        eventCounts: observer.counts,
        idle,
        duringPlacement: usage,
        profile,
      },
    };
  } catch (error) {
    reportServiceOutput(cp);
    throw error;
  } finally {
    await observer.stop().catch(() => undefined);
    await nc?.close().catch(() => undefined);
    await cp.stop();
  }
}

runBench(
  'scheduler',
  () => parseArgs(process.argv.slice(2), SIZES),
  (params) => run(params),
);
