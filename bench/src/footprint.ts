/**
 * bench:footprint — idle RSS and CPU of every platform process of the deployment `up.sh` started (one
 * agent), sampled from /proc over a window. Baseline: an idle bare Node.js process (`setInterval`) started
 * by this command and sampled over the same window, so each service's memory reads as a multiple of what
 * any Node.js process costs here.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from './lib/args';
import { localPlatform, runningPid, sleep } from './lib/local-platform';
import { cpuSecondsBetween, descendants, groupUsage, pidsByCommandLine, readProc } from './lib/procfs';
import { type Figure, progress, runBench } from './lib/report';
import { ratio } from './lib/stats';

const SERVICES = ['gateway', 'auth', 'clusters', 'scheduler', 'router', 'agent-local-1'] as const;

interface Group {
  readonly name: string;
  readonly kind: 'pier' | 'infrastructure' | 'baseline';
  readonly pids: number[];
}

runBench(
  'footprint',
  () => parseArgs(process.argv.slice(2), { quick: { seconds: 20 }, default: { seconds: 60 } }),
  async ({ seconds }) => {
    const platform = localPlatform();
    const groups: Group[] = [];
    for (const name of SERVICES) {
      const pid = runningPid(platform, name);
      if (pid === null)
        throw new Error(`${name} does not run (no live pid in ${platform.runDir}): run ./deploy/local/up.sh`);
      // Every service and agent runs under its supervisor (deploy/local/lib.sh `supervise`): the pid file
      // names the supervisor, and the process is its child. Both count; the router's HAProxy (its child in
      // turn) is a group of its own.
      const child = descendants(pid).filter((p) => readProc(p)?.ppid === pid);
      groups.push({ name: `${name} (with its supervisor)`, kind: 'pier', pids: [pid, ...child] });
    }
    const router = groups.find((g) => g.name.startsWith('router'))!.pids;
    const haproxy = descendants(runningPid(platform, 'router')!).filter(
      (pid) => !router.includes(pid) && groupUsage([pid]).alive,
    );
    if (haproxy.length === 0) throw new Error('the router runs no HAProxy');
    groups.push({ name: 'haproxy (router data plane)', kind: 'pier', pids: haproxy });
    const infra: Array<[string, number[]]> = [
      ['nats-server', pidsByCommandLine('nats-server')],
      ['postgres (whole cluster)', pidsByCommandLine('postgres')],
      ['dockerd + containerd', [...pidsByCommandLine('dockerd'), ...pidsByCommandLine('containerd')]],
      ['docker-registry', pidsByCommandLine('docker-registry')],
    ];
    for (const [name, pids] of infra)
      if (pids.length) groups.push({ name, kind: 'infrastructure', pids: [...new Set(pids)] });

    const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await sleep(2000); // let the bare process finish starting
      groups.push({ name: 'bare node process (baseline)', kind: 'baseline', pids: [bare.pid!] });
      const before = groups.map((g) => groupUsage(g.pids));
      progress(`sampling ${groups.length} process groups for ${seconds} s`);
      const rssSamples = groups.map(() => [] as number[]);
      const deadline = Date.now() + Number(seconds) * 1000;
      const started = Date.now();
      while (Date.now() < deadline) {
        groups.forEach((g, i) => rssSamples[i]!.push(groupUsage(g.pids).rssKiB));
        await sleep(1000);
      }
      const elapsed = (Date.now() - started) / 1000;
      const after = groups.map((g) => groupUsage(g.pids));
      const rows = groups.map((g, i) => {
        const samples = rssSamples[i]!;
        return {
          name: g.name,
          kind: g.kind,
          processes: after[i]!.alive,
          rssMiB: samples.reduce((a, b) => a + b, 0) / samples.length / 1024,
          cpuPercent: (cpuSecondsBetween(before[i]!, after[i]!) / elapsed) * 100,
        };
      });
      const baseline = rows.find((r) => r.kind === 'baseline')!;
      const pier = rows.filter((r) => r.kind === 'pier');
      const figures: Figure[] = [];
      for (const r of rows.filter((row) => row.kind !== 'baseline')) {
        const node = r.kind === 'pier' && !r.name.startsWith('haproxy');
        figures.push({
          name: `${r.name} RSS`,
          value: r.rssMiB,
          unit: 'MiB',
          ...(node
            ? {
                baseline: { name: 'bare node', value: baseline.rssMiB },
                ratio: ratio(r.rssMiB, baseline.rssMiB),
              }
            : {}),
        });
        figures.push({ name: `${r.name} CPU`, value: r.cpuPercent, unit: '% of a core' });
      }
      const pierRss = pier.reduce((a, r) => a + r.rssMiB, 0);
      const pierCpu = pier.reduce((a, r) => a + r.cpuPercent, 0);
      figures.push({ name: 'Pier processes total RSS', value: pierRss, unit: 'MiB' });
      figures.push({ name: 'Pier processes total CPU', value: pierCpu, unit: '% of a core' });
      figures.push({ name: 'bare node RSS (baseline)', value: baseline.rssMiB, unit: 'MiB' });
      figures.push({ name: 'bare node CPU (baseline)', value: baseline.cpuPercent, unit: '% of a core' });
      return { figures, details: { windowSeconds: elapsed, processes: rows } };
    } finally {
      bare.kill('SIGKILL');
    }
  },
);
