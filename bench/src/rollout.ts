/**
 * bench:rollout — open-loop requests through Pier's router while an app (1) scales down, (2) shifts
 * traffic weights between two versions step by step, (3) is replaced: v1 by v2 (v2 started and ready,
 * traffic switched, v1 stopped); baseline: the same load over a quiet period with nothing changing.
 *
 * The load is kept within what the instances left in each phase can serve: one instance's capacity is
 * measured first (200 answers/s at saturation), and every in-capacity phase is offered `--load` (60 %)
 * of one instance's capacity, the fewest instances any phase keeps. Between phases the load stops and
 * every outstanding request is answered before the next begins, so no backlog carries over. A labelled
 * overload phase then offers `--overload` (2) × one instance's capacity to the one instance left: the
 * platform may shed (a 503 with another code) or queue, but must not answer NO_READY_INSTANCE for an app
 * that is running.
 *
 * Each request's time is split into the client's socket wait and the server's time (written → answer
 * complete); verdicts use the server's time. In-capacity: 0 failed and server p99 ≤ 2 × the quiet p99 of
 * the same run. `--runs=3` repeats the whole sequence on a fresh app (capacity measured once).
 */
import { httpdVersion } from '@pier/testing';
import { parseArgs } from './lib/args';
import {
  type ApiClient,
  BENCH_SPACE,
  deleteBenchApp,
  ensureBenchSpace,
  localPlatform,
  sleep,
  waitFor,
} from './lib/local-platform';
import { HostCpuSampler } from './lib/host-cpu';
import { type LoadTarget, OpenLoad, saturate } from './lib/open-loop';
import { type Figure, progress, runBench } from './lib/report';
import {
  NO_READY_INSTANCE,
  type PhasePlan,
  type PhaseReport,
  reportPhase,
  rolloutTable,
  verdictLines,
} from './lib/rollout-phases';
import { ratio, round } from './lib/stats';

const APP = 'rollout';
const base = `/spaces/${BENCH_SPACE}/apps/${APP}`;

/**
 * busybox httpd keeps a 9-deep accept queue and closes each connection after one answer: more requests
 * at once than that overflow it, and a dropped SYN waits a second for its retransmission. The version
 * says what one instance takes at once, so the router queues the rest.
 */
const version = (label: string) => ({
  ...httpdVersion(`${label} $HOSTNAME`, { cpu: 200, memory: 32 }),
  maxConcurrentRequests: 8,
});

type Instance = { version: number; state: string };
type Params = {
  runs: number;
  instances: number;
  load: number;
  overload: number;
  capacity: number;
  calibrateSeconds: number;
  quietSeconds: number;
  settleSeconds: number;
  stepSeconds: number;
  overloadSeconds: number;
};

const instancesOf = async (admin: ApiClient, v: number, state?: string) =>
  (await admin.must<{ items: Instance[] }>('GET', `${base}/instances`)).items.filter(
    (i) => i.version === v && (state === undefined || i.state === state),
  ).length;
const waitReady = (admin: ApiClient, v: number, n: number) =>
  waitFor(
    `${n} ready instances of v${v}`,
    120_000,
    async () => ((await instancesOf(admin, v, 'ready')) === n ? true : undefined),
    200,
  );
const waitCount = (admin: ApiClient, v: number, n: number) =>
  waitFor(
    `${n} instances of v${v}`,
    120_000,
    async () => ((await instancesOf(admin, v)) === n ? true : undefined),
    200,
  );

/** Creates the app afresh with v1 (one ready instance) and v2 (not deployed). */
async function createApp(admin: ApiClient): Promise<void> {
  await deleteBenchApp(admin, APP);
  await admin.must('POST', `/spaces/${BENCH_SPACE}/apps`, { name: APP, cluster: 'default' });
  await admin.must('POST', `${base}/versions`, version('v1'));
  await admin.must('POST', `${base}/versions`, version('v2'));
  await admin.must('POST', `${base}/versions/1/deploy`, { instances: 1 });
  await waitReady(admin, 1, 1);
  await sleep(2000); // the router has it
}

/** One instance's capacity: 200 answers/s of a closed loop at saturation through the router. */
async function calibrate(admin: ApiClient, target: LoadTarget, seconds: number) {
  progress(`measuring one instance's capacity (${seconds} s at saturation)`);
  const measured = await saturate(target, 8, seconds);
  progress(
    `one instance: ${round(measured.okPerSecond)} answers/s (${measured.ok} of ${measured.sent} ok; ` +
      `failed: ${JSON.stringify(measured.failures)})`,
  );
  if (measured.okPerSecond < 1) throw new Error(`one instance served ${measured.okPerSecond} answers/s`);
  await waitReady(admin, 1, 1); // saturation may have taken it out of rotation for a while
  return measured;
}

/** What happened during a phase, and when (seconds from its start), next to its slowest answers. */
interface PhaseTrace {
  readonly run: number;
  readonly phase: string;
  readonly marks: { atS: number; what: string }[];
  readonly slowest: {
    atS: number;
    serverMs: number;
    answer: string;
    /** Mean busy share of the host's CPUs while the request was out, and the most runnable tasks. */
    hostBusy: number;
    runnable: number;
  }[];
}

/** One run of every phase on a fresh app; returns the phases' plans and the load that measured them. */
async function oneRun(
  run: number,
  admin: ApiClient,
  p: Params,
  perInstance: number,
  load: OpenLoad,
  traces: PhaseTrace[],
): Promise<PhasePlan[]> {
  const n = p.instances;
  const rate = p.load * perInstance; // the fewest instances serving in any in-capacity phase is one
  const plans: PhasePlan[] = [];
  const cpu = new HostCpuSampler();
  let marks: { at: number; what: string }[] = [];
  const mark = (what: string) => marks.push({ at: performance.now(), what });
  const phase = async (plan: Omit<PhasePlan, 'seconds'>, action: () => Promise<void>) => {
    progress(`run ${run}: phase ${plan.phase} at ${round(plan.offeredPerSecond)}/s`);
    marks = [];
    const from = performance.now();
    cpu.start();
    load.start(plan.phase, plan.offeredPerSecond);
    try {
      await action();
    } finally {
      load.pause();
    }
    const seconds = (performance.now() - from) / 1000;
    await load.drain();
    cpu.stop();
    plans.push({ ...plan, seconds });
    const at = (t: number) => round((t - from) / 1000);
    traces.push({
      run,
      phase: plan.phase,
      marks: marks.map((m) => ({ atS: at(m.at), what: m.what })),
      slowest: [...load.byPhase(plan.phase)]
        .filter((r) => Number.isFinite(r.serverMs))
        .sort((a, b) => b.serverMs - a.serverMs)
        .slice(0, 12)
        .map((r) => {
          const host = cpu.between(r.dueAt, r.dueAt + r.totalMs);
          return {
            atS: at(r.dueAt),
            serverMs: round(r.serverMs),
            answer: r.status === 200 ? r.body : `${r.status} ${r.error ?? r.body}`.slice(0, 80),
            hostBusy: round(host.busy),
            runnable: host.runnable,
          };
        }),
    });
    cpu.samples.length = 0;
  };
  const inCapacity = (name: string, instances: string, fewest: number) => ({
    phase: name,
    kind: 'in-capacity' as const,
    instances,
    offeredPerSecond: rate,
    capacityPerSecond: fewest * perInstance,
  });

  await admin.must('POST', `${base}/versions/1/scale`, { instances: n });
  await waitReady(admin, 1, n);
  await sleep(2000); // the router has them all
  await phase(inCapacity('warm-up', `${n}`, n), () => sleep(2000));
  await phase(inCapacity('quiet', `${n}`, n), () => sleep(p.quietSeconds * 1000));
  await phase(inCapacity('scale-down', `${n} → 1`, 1), async () => {
    mark('scale v1 to 1');
    await admin.must('POST', `${base}/versions/1/scale`, { instances: 1 });
    mark('accepted');
    await waitCount(admin, 1, 1);
    mark('v1 has 1 instance');
    await sleep(p.settleSeconds * 1000);
  });
  await phase(
    {
      phase: 'overload',
      kind: 'overload',
      instances: '1',
      offeredPerSecond: p.overload * perInstance,
      capacityPerSecond: perInstance,
    },
    () => sleep(p.overloadSeconds * 1000),
  );

  progress(`run ${run}: v1 back to ${n}, v2 to ${n} (no load)`);
  await waitReady(admin, 1, 1);
  await admin.must('POST', `${base}/versions/1/scale`, { instances: n });
  await admin.must('POST', `${base}/versions/2/deploy`, { instances: n });
  await waitReady(admin, 1, n);
  await waitReady(admin, 2, n);
  await admin.must('PUT', `${base}/traffic`, { weights: { '1': 100, '2': 0 } });
  await sleep(2000);

  await phase(inCapacity('weights', `${n} + ${n}`, n), async () => {
    for (const w of [75, 50, 25, 0, 25, 50, 75, 100]) {
      mark(`weights ${w}/${100 - w}`);
      await admin.must('PUT', `${base}/traffic`, { weights: { '1': w, '2': 100 - w } });
      await sleep(p.stepSeconds * 1000);
    }
  });
  await phase(inCapacity('replace', `${n} + ${n} → ${n}`, n), async () => {
    mark('weights 0/100');
    await admin.must('PUT', `${base}/traffic`, { weights: { '1': 0, '2': 100 } });
    await sleep(1000);
    mark('stop v1');
    await admin.must('POST', `${base}/versions/1/stop`, {});
    mark('accepted');
    await waitCount(admin, 1, 0);
    mark('v1 has no instance');
    await sleep(p.settleSeconds * 1000);
  });
  return plans.filter((plan) => plan.phase !== 'warm-up');
}

/** Headline figures over all runs: failures summed, latency of the worst run against its own quiet p99. */
function figuresOf(
  reports: readonly PhaseReport[],
  runs: number,
  perInstance: number,
  rate: number,
): Figure[] {
  const figures: Figure[] = [
    { name: 'one instance at saturation (0.2 CPU)', value: perInstance, unit: 'answers/s' },
    { name: 'offered in every in-capacity phase', value: rate, unit: 'req/s' },
  ];
  const quiet = new Map(reports.filter((r) => r.phase === 'quiet').map((r) => [r.run, r.serverMs.p99]));
  for (const name of ['quiet', 'scale-down', 'weights', 'replace', 'overload']) {
    const of = reports.filter((r) => r.phase === name);
    const sent = of.reduce((s, r) => s + r.sent, 0);
    const label = name === 'overload' ? `overload (${round(of[0]?.offeredPerSecond ?? 0)} req/s)` : name;
    figures.push({
      name: `${label}: failed, ${runs} run${runs > 1 ? 's' : ''}`,
      value: of.reduce((s, r) => s + r.failed, 0),
      unit: `of ${sent} requests`,
    });
    if (name === 'overload') {
      figures.push({
        name: `overload: ${NO_READY_INSTANCE} answers`,
        value: of.reduce((s, r) => s + (r.failures[`HTTP 503 ${NO_READY_INSTANCE}`] ?? 0), 0),
        unit: 'requests',
      });
    }
    // The worst run: the highest p99 against its own quiet p99 (for the quiet phase, the highest p99).
    const score = (r: PhaseReport) => r.serverMs.p99 / (name === 'quiet' ? 1 : (quiet.get(r.run) ?? 1));
    const worst = [...of].sort((a, b) => score(b) - score(a))[0];
    if (!worst) continue;
    const q = quiet.get(worst.run) ?? Number.NaN;
    figures.push({
      name: `${name}: server p99${runs > 1 ? ', worst run' : ''}`,
      value: worst.serverMs.p99,
      unit: 'ms',
      ...(name === 'quiet'
        ? {}
        : { baseline: { name: 'quiet p99, same run', value: q }, ratio: ratio(worst.serverMs.p99, q) }),
    });
    figures.push({
      name: `${name}: socket wait p99${runs > 1 ? ', worst run' : ''}`,
      value: Math.max(...of.map((r) => r.socketWaitMs.p99)),
      unit: 'ms',
    });
  }
  const passing = (kind: string) =>
    [...quiet.keys()].filter((run) =>
      reports.filter((r) => r.run === run && r.kind === kind).every((r) => r.verdict.pass),
    ).length;
  figures.push({
    name: 'runs passing every in-capacity phase',
    value: passing('in-capacity'),
    unit: `of ${runs}`,
  });
  figures.push({ name: 'runs passing the overload phase', value: passing('overload'), unit: `of ${runs}` });
  return figures;
}

runBench(
  'rollout',
  () =>
    parseArgs(process.argv.slice(2), {
      quick: {
        runs: 1,
        instances: 3,
        load: 0.6,
        overload: 2,
        capacity: 0,
        calibrateSeconds: 5,
        quietSeconds: 6,
        settleSeconds: 3,
        stepSeconds: 2,
        overloadSeconds: 6,
      },
      default: {
        runs: 3,
        instances: 4,
        load: 0.6,
        overload: 2,
        capacity: 0,
        calibrateSeconds: 8,
        // Long enough that its p99 is not the 4th-slowest of a few hundred requests.
        quietSeconds: 20,
        settleSeconds: 5,
        stepSeconds: 4,
        overloadSeconds: 10,
      },
    }),
  async (p: Params) => {
    if (p.runs < 1 || p.instances < 2 || !(p.load > 0 && p.load <= 1) || !(p.overload > 1)) {
      throw new Error('need --runs ≥ 1, --instances ≥ 2, 0 < --load ≤ 1 and --overload > 1');
    }
    const platform = localPlatform();
    const admin = await platform.admin();
    await ensureBenchSpace(admin);
    const target: LoadTarget = {
      port: platform.routerPort,
      host: `${APP}.${BENCH_SPACE}.${platform.baseDomain}`,
      path: '/index.html',
    };
    let perInstance = p.capacity; // 0: measured in the first run
    let calibration: unknown = 'given by --capacity';
    const reports: PhaseReport[] = [];
    const traces: PhaseTrace[] = [];
    for (let run = 1; run <= p.runs; run++) {
      const load = new OpenLoad(target);
      try {
        await createApp(admin);
        if (perInstance === 0) {
          const measured = await calibrate(admin, target, p.calibrateSeconds);
          perInstance = measured.okPerSecond;
          calibration = measured;
        }
        const plans = await oneRun(run, admin, p, perInstance, load, traces);
        const quiet = reportPhase(
          run,
          plans.find((x) => x.phase === 'quiet')!,
          load.byPhase('quiet'),
        );
        reports.push(quiet);
        for (const plan of plans.filter((x) => x.phase !== 'quiet')) {
          reports.push(reportPhase(run, plan, load.byPhase(plan.phase), quiet.serverMs.p99));
        }
      } finally {
        await load.close();
        await deleteBenchApp(admin, APP).catch((error: unknown) =>
          progress(`cleanup failed: ${(error as Error).message}`),
        );
      }
    }
    const rate = p.load * perInstance;
    const verdicts = verdictLines(reports);
    process.stdout.write(`\n${rolloutTable(reports).join('\n')}\n\n${verdicts.join('\n')}\n`);
    // Where the slowest answers of the baseline and of every failing phase fell, next to what happened.
    for (const report of reports.filter((r) => !r.verdict.pass || r.phase === 'quiet')) {
      const trace = traces.find((t) => t.run === report.run && t.phase === report.phase);
      if (!trace) continue;
      process.stdout.write(
        `\nrun ${trace.run} ${trace.phase}: ${trace.marks.map((m) => `+${m.atS} s ${m.what}`).join('; ')}\n` +
          trace.slowest
            .slice(0, report.verdict.pass ? 4 : 12)
            .map(
              (r) =>
                `  +${r.atS} s  ${r.serverMs} ms  ${r.answer}  (host ${Math.round(r.hostBusy * 100)} % busy, ` +
                `${r.runnable} runnable)`,
            )
            .join('\n') +
          '\n',
      );
    }
    return {
      figures: figuresOf(reports, p.runs, perInstance, rate),
      details: {
        capacity: { perInstancePerSecond: perInstance, calibration },
        offeredPerSecond: { inCapacity: rate, overload: p.overload * perInstance },
        verdicts,
        phases: reports,
        traces,
      },
    };
  },
);
