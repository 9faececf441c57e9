import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { descendants, readProc } from './procfs';

/** The threads of a process (its tids), empty when it is gone. */
export function threadsOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [];
  }
}

function affinity(tid: number): string | null {
  try {
    const out = execFileSync('taskset', ['-c', '-p', String(tid)], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
    return /list:\s*(\S+)/.exec(out)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** How many CPUs a taskset CPU list ("0", "1-3", "0,2-3") names. */
export function cpuListSize(list: string): number {
  const cpus = new Set<number>();
  for (const part of list.split(',').filter((p) => p.trim() !== '')) {
    const range = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!range) throw new Error(`"${list}" is not a CPU list (e.g. 0, 1-3, 0,2-3)`);
    const from = Number(range[1]);
    const to = Number(range[2] ?? range[1]);
    if (to < from) throw new Error(`"${list}" is not a CPU list: ${part} runs backwards`);
    for (let cpu = from; cpu <= to; cpu++) cpus.add(cpu);
  }
  return cpus.size;
}

/** A set of processes pinned to CPUs, every thread of each; `restore()` puts back each thread's affinity. */
export interface Pinning {
  readonly pids: readonly number[];
  restore(): void;
}

/** Pins every thread of `pids` to `cpus` (a taskset CPU list such as "0" or "1-3"), remembering the old masks. */
export function pin(pids: readonly number[], cpus: string): Pinning {
  const saved: { tid: number; cpus: string }[] = [];
  for (const pid of pids) {
    for (const tid of threadsOf(pid)) {
      const before = affinity(tid);
      if (before === null) continue;
      try {
        execFileSync('taskset', ['-c', '-p', cpus, String(tid)], { stdio: 'ignore' });
        saved.push({ tid, cpus: before });
      } catch {
        // the thread ended meanwhile
      }
    }
  }
  return {
    pids,
    restore() {
      for (const { tid, cpus: before } of saved) {
        try {
          execFileSync('taskset', ['-c', '-p', before, String(tid)], { stdio: 'ignore' });
        } catch {
          // gone
        }
      }
    },
  };
}

/**
 * Keeps HAProxy's workers pinned while it runs: a reload (another app changed meanwhile) starts a new
 * worker, which is pinned as soon as it is seen (every 200 ms). `reloads` counts the workers that appeared.
 */
export class HaproxyPinKeeper {
  private readonly pinnings: Pinning[] = [];
  private readonly seen = new Set<number>();
  private readonly timer: NodeJS.Timeout;
  reloads = 0;

  constructor(
    private readonly routerStateDir: string,
    private readonly cpus: string,
  ) {
    this.check(true);
    this.timer = setInterval(() => this.check(false), 200);
  }

  /** The workers now. */
  workers(): number[] {
    try {
      return haproxyProcesses(this.routerStateDir).workers;
    } catch {
      return [];
    }
  }

  private check(initial: boolean): void {
    const fresh = this.workers().filter((pid) => !this.seen.has(pid));
    if (fresh.length === 0) return;
    for (const pid of fresh) this.seen.add(pid);
    if (!initial) this.reloads++;
    this.pinnings.push(pin(fresh, this.cpus));
  }

  restore(): void {
    clearInterval(this.timer);
    for (const p of this.pinnings) p.restore();
  }
}

/** HAProxy's master (from the router's pid file) and its workers; the workers serve the traffic. */
export function haproxyProcesses(routerStateDir: string): { master: number; workers: number[] } {
  const file = join(routerStateDir, 'haproxy.pid');
  if (!existsSync(file)) throw new Error(`${file} is missing: is the router running?`);
  const master = Number(readFileSync(file, 'utf8').trim());
  if (readProc(master)?.comm !== 'haproxy')
    throw new Error(`HAProxy's master (pid ${master} in ${file}) is not running`);
  const workers = descendants(master).filter((pid) => readProc(pid)?.comm === 'haproxy');
  if (workers.length === 0) throw new Error(`HAProxy's master ${master} has no worker`);
  return { master, workers };
}

/** The processes of a container: its init process and everything below it. */
/** The container of a Pier instance (the agent labels each with `pier.instance`). */
export function containerOfInstance(instanceId: string): string {
  const id = execFileSync('docker', [
    'ps',
    '-q',
    '--no-trunc',
    '--filter',
    `label=pier.instance=${instanceId}`,
  ])
    .toString()
    .trim()
    .split('\n')[0];
  if (!id) throw new Error(`no running container of instance ${instanceId}`);
  return id;
}

export function containerProcesses(containerId: string): number[] {
  const pid = Number(
    execFileSync('docker', ['inspect', '-f', '{{.State.Pid}}', containerId]).toString().trim(),
  );
  if (!pid) throw new Error(`container ${containerId} does not run`);
  return [pid, ...descendants(pid)];
}

/**
 * The docker-proxy processes forwarding a published host port. Docker reaches a port published on
 * 127.0.0.1 through its userland proxy, so every request to an instance's host port crosses one: the
 * same for the direct run, the router and nginx.
 */
export function dockerProxyPids(hostPort: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const at = argv.indexOf('-host-port');
      if (argv[0]?.endsWith('docker-proxy') && argv[at + 1] === String(hostPort)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}
