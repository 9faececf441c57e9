import { readFileSync } from 'node:fs';

/** One reading of the host's CPU: the busy fraction since the previous one, and the runnable tasks. */
export interface HostCpuSample {
  /** `performance.now()` milliseconds. */
  readonly at: number;
  /** Busy share of all CPUs since the previous sample (0–1). */
  readonly busy: number;
  /** Tasks running or ready to run at this moment (`procs_running`), this sampler included. */
  readonly runnable: number;
}

function readStat(): { busy: number; total: number; runnable: number } {
  const stat = readFileSync('/proc/stat', 'utf8');
  const cpu = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is within user already)
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const runnable = Number(/^procs_running (\d+)$/m.exec(stat)?.[1] ?? Number.NaN);
  return { busy: total - idle, total, runnable };
}

/**
 * Samples the host's CPU from /proc/stat every `intervalMs` (one small file read each time), so a slow
 * answer can be set against what the machine was doing at that moment.
 */
export class HostCpuSampler {
  readonly samples: HostCpuSample[] = [];
  private timer?: NodeJS.Timeout;
  private last = readStat();

  start(intervalMs = 100): void {
    this.stop();
    this.last = readStat();
    this.timer = setInterval(() => {
      const now = readStat();
      const total = now.total - this.last.total;
      this.samples.push({
        at: performance.now(),
        busy: total > 0 ? (now.busy - this.last.busy) / total : 0,
        runnable: now.runnable,
      });
      this.last = now;
    }, intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Mean busy share and the most runnable tasks over the samples within [from, to] (ms), widened to one sample. */
  between(from: number, to: number): { busy: number; runnable: number } {
    let within = this.samples.filter((s) => s.at >= from && s.at <= to + 100);
    if (within.length === 0) {
      const next = this.samples.find((s) => s.at >= from);
      within = next ? [next] : [];
    }
    if (within.length === 0) return { busy: Number.NaN, runnable: Number.NaN };
    return {
      busy: within.reduce((sum, s) => sum + s.busy, 0) / within.length,
      runnable: Math.max(...within.map((s) => s.runnable)),
    };
  }
}
