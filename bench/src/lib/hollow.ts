import { join } from 'node:path';
import { type RunningProcess, startNodeProcess } from '@pier/testing';
import { type ControlPlane, poll, ProcessExited } from './control-plane';
import { REPO_ROOT } from './local-platform';
import { progress } from './report';

export const HOLLOW_SCRIPT = join(REPO_ROOT, 'services', 'agent', 'dist', 'hollow.js');

/** One line the hollow process prints on stdout (`connected`, `ready`, `stopped`). */
export interface HollowLine {
  readonly event: string;
  readonly rssBytes: number;
  readonly agents?: number;
  readonly startMs?: number;
}

export interface HollowProcess {
  readonly process: RunningProcess;
  readonly agents: number;
  /** RSS before any agent started (NATS connected, event store opened). */
  readonly emptyRssBytes: number;
  /** RSS once all its agents joined and follow their assignments. */
  readonly readyRssBytes: number;
  readonly startMs: number;
}

export interface HollowFleetOptions {
  readonly token: string;
  readonly nodes: number;
  readonly processes: number;
  readonly cpuMillicores: number;
  readonly memoryMiB: number;
  /** Joins in flight per process. */
  readonly concurrency?: number;
  readonly timeoutMs: number;
}

/** The JSON lines a process printed so far on stdout (its logs are JSON too, but carry no `event`). */
function lines(p: RunningProcess): HollowLine[] {
  const found: HollowLine[] = [];
  for (const line of p.output().split('\n')) {
    if (!line.startsWith('{"event"')) continue;
    try {
      found.push(JSON.parse(line) as HollowLine);
    } catch {
      // a line still being written
    }
  }
  return found;
}

/**
 * Starts `nodes` hollow agents split over `processes` processes (`services/agent/dist/hollow.js`), joined to
 * the control plane with `token`, and waits until each process says all its agents are ready. The processes
 * are registered with the control plane, so its `stop` kills them.
 */
export async function startHollowFleet(
  cp: ControlPlane,
  options: HollowFleetOptions,
): Promise<HollowProcess[]> {
  const count = Math.max(1, Math.min(options.processes, options.nodes));
  const started = Array.from({ length: count }, (_, i) => {
    const agents = Math.floor(options.nodes / count) + (i < options.nodes % count ? 1 : 0);
    const p = startNodeProcess(`hollow-${i}`, HOLLOW_SCRIPT, {
      ...cp.env,
      PIER_AGENT_JOIN_TOKEN: options.token,
      PIER_AGENT_CPU_MILLICORES: String(options.cpuMillicores),
      PIER_AGENT_MEMORY_MIB: String(options.memoryMiB),
      PIER_HOLLOW_COUNT: String(agents),
      PIER_HOLLOW_NAME_PREFIX: `hollow-p${i}`,
      PIER_HOLLOW_START_CONCURRENCY: String(options.concurrency ?? 25),
      PIER_LOG_LEVEL: 'warn',
    });
    cp.extra.push(p);
    return { p, agents };
  });
  let last = '';
  return poll(
    `${options.nodes} hollow agents ready`,
    options.timeoutMs,
    async () => {
      const result: HollowProcess[] = [];
      for (const { p, agents } of started) {
        if (p.child.exitCode !== null)
          throw new ProcessExited(`${p.name} exited:\n${p.output().slice(-4000)}`);
        const seen = lines(p);
        const empty = seen.find((l) => l.event === 'connected');
        const ready = seen.find((l) => l.event === 'ready');
        if (!empty || !ready) continue;
        result.push({
          process: p,
          agents,
          emptyRssBytes: empty.rssBytes,
          readyRssBytes: ready.rssBytes,
          startMs: ready.startMs ?? Number.NaN,
        });
      }
      const status = `${result.length}/${started.length} hollow processes ready`;
      if (status !== last) progress(status);
      last = status;
      return result.length === started.length ? result : undefined;
    },
    500,
  );
}
