/** The master CLI's `show proc`, as far as the driver needs it. */
export interface ProcessList {
  readonly masterPid: number;
  /** Reloads of the master since it started. */
  readonly reloads: number;
  /** Reloads that failed since the last successful one (the previous workers keep serving). */
  readonly failedReloads: number;
  /** Workers of the current configuration. */
  readonly workers: readonly number[];
  /** Workers of earlier configurations, finishing their connections. */
  readonly oldWorkers: readonly number[];
}

/**
 * Parses `show proc` of HAProxy 2.6:
 *
 *     #<PID>          <type>          <reloads>       <uptime>        <version>
 *     21942           master          1 [failed: 0]   0d00h00m02s     2.6.12-1+deb12u4
 *     # workers
 *     21945           worker          0               0d00h00m02s     2.6.12-1+deb12u4
 *     # old workers
 *     21900           worker          1               0d00h00m09s     2.6.12-1+deb12u4
 *     # programs
 */
export function parseShowProc(text: string): ProcessList {
  let section = 'master';
  let master: { pid: number; reloads: number; failed: number } | undefined;
  const workers: number[] = [];
  const oldWorkers: number[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      if (/^#\s*workers/.test(line)) section = 'workers';
      else if (/^#\s*old workers/.test(line)) section = 'old';
      else if (/^#\s*programs/.test(line)) section = 'programs';
      continue;
    }
    const m = /^(\d+)\s+(\S+)\s+(\d+)(?:\s+\[failed:\s*(\d+)\])?/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    if (m[2] === 'master') master = { pid, reloads: Number(m[3]), failed: Number(m[4] ?? 0) };
    else if (m[2] === 'worker' && section === 'workers') workers.push(pid);
    else if (m[2] === 'worker' && section === 'old') oldWorkers.push(pid);
  }
  if (!master) throw new Error(`not an HAProxy process list: ${text.slice(0, 200)}`);
  return {
    masterPid: master.pid,
    reloads: master.reloads,
    failedReloads: master.failed,
    workers,
    oldWorkers,
  };
}
