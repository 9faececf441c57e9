import { readFileSync } from 'node:fs';
import { CLOCK_TICKS, groupUsage } from './procfs';

/** Busy and total jiffies of each CPU, from /proc/stat. */
function cpuTimes(): { busy: number; total: number }[] {
  const out: { busy: number; total: number }[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out[Number(m[1])] = { busy: total - v[3]! - v[4]!, total };
  }
  return out;
}

/**
 * CPU use over an interval: per CPU (percent busy) and per named group of processes (percent of one CPU,
 * and CPU seconds). `groups` is called at the start and at the end, so it may find processes anew.
 */
export class CpuMeter {
  private readonly startCpus = cpuTimes();
  private readonly startAt = process.hrtime.bigint();
  private readonly startGroups: Map<string, number>;

  constructor(private readonly groups: () => Record<string, readonly number[]>) {
    this.startGroups = new Map(
      Object.entries(groups()).map(([name, pids]) => [name, groupUsage(pids).cpuSeconds]),
    );
  }

  stop(): {
    seconds: number;
    cpuBusyPercent: number[];
    busyCpuSeconds: number;
    processes: Record<string, { cpuPercent: number; cpuSeconds: number }>;
  } {
    const seconds = Number(process.hrtime.bigint() - this.startAt) / 1e9;
    const end = cpuTimes();
    const cpuBusyPercent = end.map((e, i) => {
      const s = this.startCpus[i]!;
      return e.total === s.total ? 0 : Math.round((1000 * (e.busy - s.busy)) / (e.total - s.total)) / 10;
    });
    const busyCpuSeconds =
      end.reduce((sum, e, i) => sum + (e.busy - this.startCpus[i]!.busy), 0) / CLOCK_TICKS;
    const processes: Record<string, { cpuPercent: number; cpuSeconds: number }> = {};
    for (const [name, pids] of Object.entries(this.groups())) {
      // Processes that ended in between are missed; the groups measured here live through the interval.
      const used = groupUsage(pids).cpuSeconds - (this.startGroups.get(name) ?? 0);
      processes[name] = {
        cpuPercent: Math.round((1000 * used) / seconds) / 10,
        cpuSeconds: Math.round(used * 100) / 100,
      };
    }
    return { seconds, cpuBusyPercent, busyCpuSeconds: Math.round(busyCpuSeconds * 100) / 100, processes };
  }
}
