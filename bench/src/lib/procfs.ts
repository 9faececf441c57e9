import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second, the unit of CPU times in /proc/<pid>/stat. */
export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcSample {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  readonly rssKiB: number;
  /** User + system CPU time so far, in seconds. */
  readonly cpuSeconds: number;
}

/** One process as /proc shows it now, or null when it is gone. */
export function readProc(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may hold spaces or parentheses: split after the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // fields[0] is state (field 3); ppid is field 4, utime 14, stime 15.
    const ppid = Number(fields[1]);
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return { pid, ppid, comm, rssKiB: rss ? Number(rss[1]) : 0, cpuSeconds: ticks / CLOCK_TICKS };
  } catch {
    return null;
  }
}

/** Every process whose ancestry includes `root` (not `root` itself). */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const sample = readProc(Number(entry));
    if (sample) parent.set(sample.pid, sample.ppid);
  }
  const found: number[] = [];
  for (const pid of parent.keys()) {
    let p = parent.get(pid);
    while (p !== undefined && p > 1) {
      if (p === root) {
        found.push(pid);
        break;
      }
      p = parent.get(p);
    }
  }
  return found;
}

/** Pids of processes whose command line contains `needle`. */
export function pidsByCommandLine(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** Total RSS (KiB) and CPU seconds of a group of processes, and each live process's CPU seconds. */
export function groupUsage(pids: readonly number[]): {
  rssKiB: number;
  cpuSeconds: number;
  alive: number;
  cpuByPid: ReadonlyMap<number, number>;
} {
  let rssKiB = 0;
  let cpuSeconds = 0;
  let alive = 0;
  const cpuByPid = new Map<number, number>();
  for (const pid of pids) {
    const s = readProc(pid);
    if (!s) continue;
    alive++;
    rssKiB += s.rssKiB;
    cpuSeconds += s.cpuSeconds;
    cpuByPid.set(pid, s.cpuSeconds);
  }
  return { rssKiB, cpuSeconds, alive, cpuByPid };
}

/**
 * CPU seconds a group used between two readings, counted per process alive at both: a process that
 * exits in between (a Postgres backend whose connection closed) takes its CPU time with it, which a
 * difference of the two totals would count as negative.
 */
export function cpuSecondsBetween(
  before: { cpuByPid: ReadonlyMap<number, number> },
  after: { cpuByPid: ReadonlyMap<number, number> },
): number {
  let used = 0;
  for (const [pid, seconds] of after.cpuByPid) {
    const earlier = before.cpuByPid.get(pid);
    if (earlier !== undefined) used += Math.max(0, seconds - earlier);
  }
  return used;
}
