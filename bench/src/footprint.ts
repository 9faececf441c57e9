/**
 * bench:footprint — idle RSS and CPU of the whole control plane (clusters, auth, scheduler, router,
 * gateway) in both layouts, one after the other, each an isolated control plane started from the built
 * services with one hollow node heartbeating: `one-process` (services/platform, the local default) and
 * `processes` (a process per service, the scale-out layout). Sampled from /proc over a window after a
 * settling period. Baselines: the `processes` layout for the one-process figures, and an idle bare
 * Node.js process (`setInterval`) started by this command, what any Node.js process costs here. HAProxy
 * (the router's data plane, a child of the router) is reported apart: it is not Node.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from './lib/args';
import {
  clusterWithToken,
  type Layout,
  reportServiceOutput,
  startControlPlane,
  waitNodesReady,
} from './lib/control-plane';
import { startHollowFleet } from './lib/hollow';
import { sleep } from './lib/local-platform';
import { cpuSecondsBetween, descendants, groupUsage, readProc } from './lib/procfs';
import { type Figure, progress, runBench } from './lib/report';
import { ratio } from './lib/stats';

/** The goal for the whole control plane at rest (one-process layout). */
const GOAL_RSS_MIB = 300;
const GOAL_CPU_PERCENT = 3;

interface Usage {
  readonly rssMiB: number;
  readonly cpuPercent: number;
}

interface LayoutUsage {
  readonly layout: Layout;
  readonly total: Usage;
  readonly byProcess: Record<string, Usage>;
  readonly haproxy: Usage;
}

/** Mean RSS (sampled each second) and CPU share of `pids` over `seconds`. */
async function sample(pids: readonly number[], seconds: number): Promise<Usage> {
  const before = groupUsage(pids);
  const rss: number[] = [];
  const started = Date.now();
  while (Date.now() - started < seconds * 1000) {
    rss.push(groupUsage(pids).rssKiB);
    await sleep(1000);
  }
  const elapsed = (Date.now() - started) / 1000;
  return {
    rssMiB: rss.reduce((a, b) => a + b, 0) / rss.length / 1024,
    cpuPercent: (cpuSecondsBetween(before, groupUsage(pids)) / elapsed) * 100,
  };
}

async function measure(layout: Layout, settleSeconds: number, seconds: number): Promise<LayoutUsage> {
  const cp = await startControlPlane('footprint', { layout, router: true });
  try {
    const { clusterId, token } = await clusterWithToken(cp);
    await startHollowFleet(cp, {
      token,
      nodes: 1,
      processes: 1,
      cpuMillicores: 4000,
      memoryMiB: 8192,
      timeoutMs: 60_000,
    });
    await waitNodesReady(cp, clusterId, 1, 60_000);
    progress(`${layout}: settling ${settleSeconds} s, then sampling ${seconds} s`);
    await sleep(settleSeconds * 1000);
    const node = cp.hosts.map((p) => p.child.pid!);
    const haproxy = node.flatMap((pid) =>
      descendants(pid).filter((child) => readProc(child)?.comm.startsWith('haproxy')),
    );
    if (haproxy.length === 0) throw new Error(`${layout}: the router runs no HAProxy`);
    const [total, haproxyUsage, ...each] = await Promise.all([
      sample(node, seconds),
      sample(haproxy, seconds),
      ...cp.hosts.map((p) => sample([p.child.pid!], seconds)),
    ]);
    return {
      layout,
      total: total!,
      haproxy: haproxyUsage!,
      byProcess: Object.fromEntries(cp.hosts.map((p, i) => [p.name, each[i]!])),
    };
  } catch (error) {
    reportServiceOutput(cp);
    throw error;
  } finally {
    await cp.stop();
  }
}

runBench(
  'footprint',
  () =>
    parseArgs(process.argv.slice(2), {
      quick: { seconds: 10, settle: 5 },
      default: { seconds: 60, settle: 20 },
    }),
  async ({ seconds, settle }) => {
    const one = await measure('one-process', settle, seconds);
    const apart = await measure('processes', settle, seconds);
    const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    let baseline: Usage;
    try {
      await sleep(2000); // let the bare process finish starting
      progress(`bare node process: sampling ${seconds} s`);
      baseline = await sample([bare.pid!], seconds);
    } finally {
      bare.kill('SIGKILL');
    }
    const vsApart = (name: string, value: number, base: number, unit: string): Figure => ({
      name,
      value,
      unit,
      baseline: { name: 'processes layout', value: base },
      ratio: ratio(value, base),
    });
    const vsBare = (name: string, value: number): Figure => ({
      name,
      value,
      unit: 'MiB',
      baseline: { name: 'bare node', value: baseline.rssMiB },
      ratio: ratio(value, baseline.rssMiB),
    });
    const figures: Figure[] = [
      vsApart('control plane RSS, one process (idle, 1 node)', one.total.rssMiB, apart.total.rssMiB, 'MiB'),
      vsApart('control plane CPU, one process', one.total.cpuPercent, apart.total.cpuPercent, '% of a core'),
      { name: `goal: control plane RSS at most`, value: GOAL_RSS_MIB, unit: 'MiB' },
      { name: `goal: control plane CPU at most`, value: GOAL_CPU_PERCENT, unit: '% of a core' },
      vsBare('platform process RSS (one-process layout)', one.total.rssMiB),
      ...Object.entries(apart.byProcess).map(([name, u]) =>
        vsBare(`${name} RSS (processes layout)`, u.rssMiB),
      ),
      { name: 'haproxy RSS (router data plane, one-process layout)', value: one.haproxy.rssMiB, unit: 'MiB' },
      { name: 'haproxy CPU', value: one.haproxy.cpuPercent, unit: '% of a core' },
      { name: 'bare node RSS (baseline)', value: baseline.rssMiB, unit: 'MiB' },
    ];
    return {
      figures,
      details: {
        definitions: {
          setup:
            'an isolated control plane (own NATS prefix and Postgres schemas) started from the built services, one hollow node joined and heartbeating, nothing deployed',
          window: `${settle} s settling after the node is ready, then ${seconds} s sampled (RSS each second, mean; CPU from /proc over the window)`,
        },
        layouts: { 'one-process': one, processes: apart },
        bareNode: baseline,
      },
    };
  },
);
