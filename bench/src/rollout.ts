/**
 * bench:rollout — a steady request rate through Pier's router while the app (1) scales down, (2) shifts
 * traffic weights between two versions step by step, (3) is replaced: v1 by v2 (v2 started and ready,
 * traffic switched, v1 stopped). Counts requests sent and failed (not a 200, or no answer) in each phase;
 * the goal is 0 failed. Baseline: the same load over a quiet period with nothing changing.
 */
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
import { SteadyLoad } from './lib/load';
import { type Figure, progress, runBench } from './lib/report';
import { ratio, summarize } from './lib/stats';

const APP = 'rollout';
const base = `/spaces/${BENCH_SPACE}/apps/${APP}`;

const version = (label: string) => ({
  image: 'pier/busybox:latest',
  command: ['sh', '-c', `echo "${label} $HOSTNAME" > /tmp/index.html && exec httpd -f -p 8080 -h /tmp`],
  ports: [{ containerPort: 8080, protocol: 'http' }],
  resources: { cpu: 200, memory: 32 },
  probes: { readiness: { http: { path: '/index.html', port: 8080 }, periodSeconds: 1 } },
  stop: { gracePeriodSeconds: 2 },
});

type Instance = { version: number; state: string };

async function readyCount(admin: ApiClient, v: number): Promise<number> {
  const { items } = await admin.must<{ items: Instance[] }>('GET', `${base}/instances`);
  return items.filter((i) => i.version === v && i.state === 'ready').length;
}

async function instanceCount(admin: ApiClient, v: number): Promise<number> {
  const { items } = await admin.must<{ items: Instance[] }>('GET', `${base}/instances`);
  return items.filter((i) => i.version === v).length;
}

const waitReady = (admin: ApiClient, v: number, n: number) =>
  waitFor(
    `${n} ready instances of v${v}`,
    120_000,
    async () => ((await readyCount(admin, v)) === n ? true : undefined),
    200,
  );
const waitCount = (admin: ApiClient, v: number, n: number) =>
  waitFor(
    `${n} instances of v${v}`,
    120_000,
    async () => ((await instanceCount(admin, v)) === n ? true : undefined),
    200,
  );

runBench(
  'rollout',
  () =>
    parseArgs(process.argv.slice(2), {
      quick: { rate: 100, instances: 3, settleSeconds: 3, stepSeconds: 2 },
      default: { rate: 200, instances: 4, settleSeconds: 5, stepSeconds: 4 },
    }),
  async ({ rate, instances, settleSeconds, stepSeconds }) => {
    const n = Number(instances);
    const platform = localPlatform();
    const admin = await platform.admin();
    await ensureBenchSpace(admin);
    await deleteBenchApp(admin, APP);
    const load = new SteadyLoad(
      {
        port: platform.routerPort,
        host: `${APP}.${BENCH_SPACE}.${platform.baseDomain}`,
        path: '/index.html',
      },
      Number(rate),
    );
    const marks: Record<string, number> = {};
    const phase = (name: string) => {
      load.phase = name;
      marks[name] = Date.now();
      progress(`phase ${name}`);
    };
    try {
      await admin.must('POST', `/spaces/${BENCH_SPACE}/apps`, { name: APP, cluster: 'default' });
      await admin.must('POST', `${base}/versions`, version('v1'));
      await admin.must('POST', `${base}/versions`, version('v2'));
      await admin.must('POST', `${base}/versions/1/deploy`, { instances: n });
      await waitReady(admin, 1, n);
      await sleep(2000); // the router has them all
      load.start();
      phase('warm-up');
      await sleep(2000);

      phase('quiet');
      await sleep(Number(settleSeconds) * 2000);

      phase('scale-down');
      await admin.must('POST', `${base}/versions/1/scale`, { instances: 1 });
      await waitCount(admin, 1, 1);
      await sleep(Number(settleSeconds) * 1000);

      phase('between'); // not counted: v1 back to n and v2 started, both ready
      await admin.must('POST', `${base}/versions/1/scale`, { instances: n });
      await admin.must('POST', `${base}/versions/2/deploy`, { instances: n });
      await waitReady(admin, 1, n);
      await waitReady(admin, 2, n);
      await admin.must('PUT', `${base}/traffic`, { weights: { '1': 100, '2': 0 } });
      await sleep(2000);

      phase('weights');
      for (const w of [75, 50, 25, 0, 25, 50, 75, 100]) {
        await admin.must('PUT', `${base}/traffic`, { weights: { '1': w, '2': 100 - w } });
        await sleep(Number(stepSeconds) * 1000);
      }

      phase('replace');
      await admin.must('PUT', `${base}/traffic`, { weights: { '1': 0, '2': 100 } });
      await sleep(1000);
      await admin.must('POST', `${base}/versions/1/stop`, {});
      await waitCount(admin, 1, 0);
      await sleep(Number(settleSeconds) * 1000);
      phase('done');
      await load.stop();

      const figures: Figure[] = [];
      const quiet = summarize(load.byPhase('quiet').map((r) => r.latencyMs));
      const details: Record<string, unknown> = { rate, instances: n, phasesStartedAt: marks };
      for (const name of ['quiet', 'scale-down', 'weights', 'replace']) {
        const records = load.byPhase(name);
        const failed = records.filter((r) => r.status !== 200);
        const latency = summarize(records.map((r) => r.latencyMs));
        const versions: Record<string, number> = {};
        for (const r of records)
          if (r.status === 200) versions[r.body.split(' ')[0]!] = (versions[r.body.split(' ')[0]!] ?? 0) + 1;
        figures.push({ name: `${name}: requests sent`, value: records.length, unit: 'requests' });
        figures.push({ name: `${name}: requests failed`, value: failed.length, unit: 'requests' });
        figures.push({
          name: `${name}: latency p99`,
          value: latency.p99,
          unit: 'ms',
          ...(name === 'quiet'
            ? {}
            : { baseline: { name: 'quiet p99', value: quiet.p99 }, ratio: ratio(latency.p99, quiet.p99) }),
        });
        const reasons: Record<string, number> = {};
        for (const r of failed) {
          const key = r.status ? `HTTP ${r.status} ${r.body.slice(0, 80)}` : (r.error ?? 'no answer');
          reasons[key] = (reasons[key] ?? 0) + 1;
        }
        details[name] = {
          sent: records.length,
          failed: failed.length,
          latencyMs: latency,
          answeredBy: versions,
          failures: reasons,
        };
      }
      return { figures, details };
    } finally {
      await load.stop();
      await deleteBenchApp(admin, APP).catch((error: unknown) =>
        progress(`cleanup failed: ${(error as Error).message}`),
      );
    }
  },
);
