/**
 * bench:deploy — time from the deploy API call to the first HTTP 200 through Pier's router, against
 * `docker run -d` of the same image (same command, CPU and memory limits) to the first HTTP 200 on its
 * published port. The two alternate (which goes first flips every round) so drift on a shared machine
 * hits both alike. Neither side has a readiness probe: both count until the server answers, polled every
 * 10 ms on a fresh connection.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseArgs } from './lib/args';
import { firstOk, getOnce } from './lib/http-probe';
import {
  type ApiClient,
  BENCH_SPACE,
  deleteBenchApp,
  ensureBenchSpace,
  localPlatform,
  waitFor,
} from './lib/local-platform';
import { type Figure, progress, runBench } from './lib/report';
import { ratio, summarize } from './lib/stats';

const run = promisify(execFile);
const IMAGE = 'pier/busybox:latest';
const APP = 'deploy-latency';
const CPU_MILLICORES = 500;
const MEMORY_MIB = 64;
const COMMAND = ['sh', '-c', 'echo ok > /tmp/index.html && exec httpd -f -p 8080 -h /tmp'];

async function dockerRunToFirstOk(timeoutMs: number): Promise<number> {
  const start = performance.now();
  const { stdout } = await run('docker', [
    'run',
    '-d',
    '--label',
    'pier.bench=deploy',
    '-p',
    '127.0.0.1::8080',
    `--cpus=${CPU_MILLICORES / 1000}`,
    `--memory=${MEMORY_MIB}m`,
    IMAGE,
    ...COMMAND,
  ]);
  const id = stdout.trim();
  try {
    const port = Number(
      (await run('docker', ['port', id, '8080/tcp'])).stdout.trim().split('\n')[0]!.split(':').pop(),
    );
    const ok = await firstOk(() => port, '/index.html', undefined, timeoutMs);
    return ok - start;
  } finally {
    await run('docker', ['rm', '-f', id]).catch(() => undefined);
  }
}

async function pierDeployToFirstOk(
  admin: ApiClient,
  routerPort: number,
  host: string,
  timeoutMs: number,
): Promise<number> {
  const base = `/spaces/${BENCH_SPACE}/apps/${APP}`;
  const start = performance.now();
  await admin.must('POST', `${base}/versions/1/deploy`, { instances: 1 });
  const ok = await firstOk(() => routerPort, '/index.html', host, timeoutMs);
  const elapsed = ok - start;
  // Back to nothing running, and the router answering without an instance, before the next round.
  await admin.must('POST', `${base}/versions/1/stop`, {});
  await waitFor(
    'instances of the previous round gone',
    120_000,
    async () => {
      const { items } = await admin.must<{ items: unknown[] }>('GET', `${base}/instances`);
      return items.length === 0 ? true : undefined;
    },
    100,
  );
  await waitFor('router without a ready instance', 30_000, async () =>
    (await getOnce(routerPort, '/index.html', host)).status === 200 ? undefined : true,
  );
  return elapsed;
}

runBench(
  'deploy',
  () => parseArgs(process.argv.slice(2), { quick: { rounds: 8 }, default: { rounds: 30 } }),
  async ({ rounds }) => {
    const platform = localPlatform();
    const admin = await platform.admin();
    await ensureBenchSpace(admin);
    const host = `${APP}.${BENCH_SPACE}.${platform.baseDomain}`;
    await deleteBenchApp(admin, APP);
    await run('docker', ['image', 'inspect', IMAGE]).catch(() => {
      throw new Error(`image ${IMAGE} is missing: run ./deploy/local/up.sh (deps.sh builds it)`);
    });
    const base = `/spaces/${BENCH_SPACE}/apps/${APP}`;
    try {
      await admin.must('POST', `/spaces/${BENCH_SPACE}/apps`, { name: APP, cluster: 'default' });
      await admin.must('POST', `${base}/versions`, {
        image: IMAGE,
        command: COMMAND,
        ports: [{ containerPort: 8080, protocol: 'http' }],
        resources: { cpu: CPU_MILLICORES, memory: MEMORY_MIB },
        stop: { gracePeriodSeconds: 1 },
      });
      // One round of each not counted: the first HAProxy layout for the app, page cache, Docker warm-up.
      progress('warm-up round');
      await pierDeployToFirstOk(admin, platform.routerPort, host, 120_000);
      await dockerRunToFirstOk(60_000);
      const pier: number[] = [];
      const docker: number[] = [];
      for (let i = 0; i < Number(rounds); i++) {
        if (i % 2 === 0) {
          pier.push(await pierDeployToFirstOk(admin, platform.routerPort, host, 120_000));
          docker.push(await dockerRunToFirstOk(60_000));
        } else {
          docker.push(await dockerRunToFirstOk(60_000));
          pier.push(await pierDeployToFirstOk(admin, platform.routerPort, host, 120_000));
        }
        progress(
          `round ${i + 1}/${rounds}: pier ${Math.round(pier.at(-1)!)} ms, docker run ${Math.round(docker.at(-1)!)} ms`,
        );
      }
      const p = summarize(pier);
      const d = summarize(docker);
      const figures: Figure[] = [
        {
          name: 'deploy → first 200 via router p50',
          value: p.p50,
          unit: 'ms',
          baseline: { name: 'docker run -d → first 200 p50', value: d.p50 },
          ratio: ratio(p.p50, d.p50),
        },
        {
          name: 'deploy → first 200 via router p99',
          value: p.p99,
          unit: 'ms',
          baseline: { name: 'docker run -d → first 200 p99', value: d.p99 },
          ratio: ratio(p.p99, d.p99),
        },
        { name: 'Pier overhead over docker run p50', value: p.p50 - d.p50, unit: 'ms' },
      ];
      return {
        figures,
        details: {
          rounds,
          pierMs: p,
          dockerRunMs: d,
          pierSamplesMs: pier.map(Math.round),
          dockerSamplesMs: docker.map(Math.round),
        },
      };
    } finally {
      await deleteBenchApp(admin, APP).catch((error: unknown) =>
        progress(`cleanup failed: ${(error as Error).message}`),
      );
      const { stdout } = await run('docker', ['ps', '-aq', '--filter', 'label=pier.bench=deploy']).catch(
        () => ({ stdout: '' }),
      );
      if (stdout.trim())
        await run('docker', ['rm', '-f', ...stdout.trim().split('\n')]).catch(() => undefined);
    }
  },
);
