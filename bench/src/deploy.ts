/**
 * bench:deploy — time from the deploy API call to the first HTTP 200 through Pier's router, against the
 * same container run straight on the Docker engine through its API (create with the same command, CPU
 * and memory limits and a port published on 127.0.0.1, start, read the port) to the first HTTP 200 on
 * its published port. Both sides talk to the engine's API, as Pier's agent does: no `docker` CLI round
 * trip (a process start of its own, 50–100 ms) counts in the baseline. The two alternate (which goes
 * first flips every round) so drift on a shared machine hits both alike. Neither side has a readiness
 * probe: both count until the server answers, polled every 10 ms on a fresh connection.
 */
import Docker from 'dockerode';
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

const IMAGE = 'pier/busybox:latest';
const APP = 'deploy-latency';
const CPU_MILLICORES = 500;
const MEMORY_MIB = 64;
const COMMAND = ['sh', '-c', 'echo ok > /tmp/index.html && exec httpd -f -p 8080 -h /tmp'];
const BENCH_LABEL = { 'pier.bench': 'deploy' };

/** What `docker run -d -p 127.0.0.1::8080 --cpus --memory` asks the engine, through its API. */
async function engineRunToFirstOk(docker: Docker, timeoutMs: number): Promise<number> {
  const start = performance.now();
  const container = await docker.createContainer({
    Image: IMAGE,
    Cmd: COMMAND,
    Labels: BENCH_LABEL,
    ExposedPorts: { '8080/tcp': {} },
    HostConfig: {
      PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
      NanoCpus: CPU_MILLICORES * 1_000_000,
      Memory: MEMORY_MIB * 1024 * 1024,
    },
  });
  try {
    await container.start();
    const info = await container.inspect();
    const port = Number(info.NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort);
    const ok = await firstOk(() => port, '/index.html', undefined, timeoutMs);
    return ok - start;
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
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
    const docker = new Docker();
    await docker
      .getImage(IMAGE)
      .inspect()
      .catch(() => {
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
      await engineRunToFirstOk(docker, 60_000);
      const pier: number[] = [];
      const engine: number[] = [];
      for (let i = 0; i < Number(rounds); i++) {
        if (i % 2 === 0) {
          pier.push(await pierDeployToFirstOk(admin, platform.routerPort, host, 120_000));
          engine.push(await engineRunToFirstOk(docker, 60_000));
        } else {
          engine.push(await engineRunToFirstOk(docker, 60_000));
          pier.push(await pierDeployToFirstOk(admin, platform.routerPort, host, 120_000));
        }
        progress(
          `round ${i + 1}/${rounds}: pier ${Math.round(pier.at(-1)!)} ms, engine ${Math.round(engine.at(-1)!)} ms`,
        );
      }
      const p = summarize(pier);
      const d = summarize(engine);
      const figures: Figure[] = [
        {
          name: 'deploy → first 200 via router p50',
          value: p.p50,
          unit: 'ms',
          baseline: { name: 'engine API run → first 200 p50', value: d.p50 },
          ratio: ratio(p.p50, d.p50),
        },
        {
          name: 'deploy → first 200 via router p99',
          value: p.p99,
          unit: 'ms',
          baseline: { name: 'engine API run → first 200 p99', value: d.p99 },
          ratio: ratio(p.p99, d.p99),
        },
        { name: 'Pier overhead over the engine p50', value: p.p50 - d.p50, unit: 'ms' },
      ];
      return {
        figures,
        details: {
          rounds,
          pierMs: p,
          engineMs: d,
          pierSamplesMs: pier.map(Math.round),
          engineSamplesMs: engine.map(Math.round),
        },
      };
    } finally {
      await deleteBenchApp(admin, APP).catch((error: unknown) =>
        progress(`cleanup failed: ${(error as Error).message}`),
      );
      const left = await docker
        .listContainers({ all: true, filters: { label: ['pier.bench=deploy'] } })
        .catch(() => []);
      for (const c of left)
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
    }
  },
);
