import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One wrk run: the load it generated and the latency it saw. */
export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  /** Latency percentiles in milliseconds, from wrk's full histogram (not its --latency summary). */
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** Responses with a status other than 2xx/3xx. */
  readonly non2xx: number;
  /** Socket errors: connect, read, write, timeout. */
  readonly errors: number;
  readonly bytes: number;
  /** CPU time wrk itself used (user + system), seconds. */
  readonly wrkCpuSeconds: number;
}

export interface WrkOptions {
  readonly url: string;
  readonly host?: string;
  readonly connections: number;
  readonly threads: number;
  readonly seconds: number;
  /** CPU list for `taskset -c` (e.g. "1"); unset: not pinned. */
  readonly cpus?: string;
}

/** A wrk script that prints the figures as one JSON line when the run is done. */
const REPORT_SCRIPT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,"errors":%d,' ..
    '"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%f}\\n',
    summary.requests, summary.duration, summary.bytes, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
`;

/**
 * Runs wrk (keep-alive: wrk never closes a connection itself) and parses its report. wrk's latency is
 * measured per request from the time it is written, in microseconds.
 */
export function runWrk(options: WrkOptions): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'pier-bench-wrk-'));
  const script = join(dir, 'report.lua');
  writeFileSync(script, REPORT_SCRIPT);
  const wrk = [
    'wrk',
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--timeout',
    '5s',
    '-s',
    script,
    ...(options.host ? ['-H', `Host: ${options.host}`] : []),
    options.url,
  ];
  const command = options.cpus ? ['taskset', '-c', options.cpus, ...wrk] : wrk;
  // bash's `times` prints its children's CPU time last: wrk's own CPU use, for the CPU breakdown.
  const args = ['-c', '"$@"; status=$?; times; exit $status', 'bash', ...command];
  return new Promise<WrkResult>((resolve, reject) => {
    execFile('bash', args, { timeout: (options.seconds + 30) * 1000 }, (error, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      if (error) return reject(new Error(`wrk failed: ${error.message}\n${stderr}`));
      const line = stdout.split('\n').find((l) => l.startsWith('{"requests"'));
      if (!line) return reject(new Error(`wrk printed no report:\n${stdout}\n${stderr}`));
      const r = JSON.parse(line) as Record<string, number>;
      const times = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s\s*$/.exec(stdout.trimEnd());
      const wrkCpuSeconds = times
        ? Number(times[1]) * 60 + Number(times[2]) + Number(times[3]) * 60 + Number(times[4])
        : Number.NaN;
      const seconds = r.duration_us! / 1e6;
      resolve({
        requests: r.requests!,
        seconds,
        rps: r.requests! / seconds,
        p50Ms: r.p50! / 1000,
        p90Ms: r.p90! / 1000,
        p99Ms: r.p99! / 1000,
        maxMs: r.max! / 1000,
        meanMs: r.mean! / 1000,
        non2xx: r.non2xx!,
        errors: r.errors!,
        bytes: r.bytes!,
        wrkCpuSeconds,
      });
    });
  });
}
