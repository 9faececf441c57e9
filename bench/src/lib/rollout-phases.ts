import { failureCause, type TimedRequest } from './open-loop';
import { ratio, round, type Summary, summarize } from './stats';

/** What a phase is judged by. */
export type PhaseKind = 'in-capacity' | 'overload';

/** How a phase was loaded: the rate offered against what the instances left in it can serve. */
export interface PhasePlan {
  readonly phase: string;
  readonly kind: PhaseKind;
  /** The instances serving during the phase, e.g. `4 → 1`. */
  readonly instances: string;
  readonly offeredPerSecond: number;
  /** Capacity of the fewest instances serving at any moment of the phase (that many × per instance). */
  readonly capacityPerSecond: number;
  /** Seconds the load was sent for (from the first request due to the last). */
  readonly seconds: number;
}

/** One phase of one run, measured. */
export interface PhaseReport extends PhasePlan {
  readonly run: number;
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  /** Failed requests by cause (`HTTP 503 NO_READY_INSTANCE`, `timeout waiting for the answer`, …). */
  readonly failures: Record<string, number>;
  /** Request written → answer complete (or failure): the router's and the instance's time. */
  readonly serverMs: Summary;
  /** Request handed to node:http → connected socket: the client's pool and the TCP connect. */
  readonly socketWaitMs: Summary;
  /** Due → handed to node:http: the load generator's timer running late. */
  readonly issueLagMs: Summary;
  /** Due → answer complete: everything the client saw. */
  readonly totalMs: Summary;
  /** 200 answers by the first word of their body (the version label). */
  readonly answeredBy: Record<string, number>;
  readonly verdict: { readonly pass: boolean; readonly rule: string; readonly reasons: string[] };
}

/** The verdicts' latency bound: an in-capacity phase's server-time p99 within this × the quiet phase's. */
export const P99_FACTOR = 2;
export const NO_READY_INSTANCE = 'NO_READY_INSTANCE';

const finite = (values: number[]) => summarize(values.filter(Number.isFinite));

/**
 * Summarizes one phase's requests and judges it. In capacity: no request failed and the server-time
 * p99 is at most {@link P99_FACTOR} × `quietP99` (the quiet phase itself is judged by failures only).
 * Overload: no answer says NO_READY_INSTANCE (the app is running: shedding must say so with another
 * code, or queue and serve) and every request got an answer (a timeout or a dropped connection is
 * neither shedding nor queueing).
 */
export function reportPhase(
  run: number,
  plan: PhasePlan,
  records: readonly TimedRequest[],
  quietP99?: number,
): PhaseReport {
  const failures: Record<string, number> = {};
  const answeredBy: Record<string, number> = {};
  let ok = 0;
  for (const r of records) {
    if (r.status === 200) {
      ok++;
      const label = r.body.split(' ')[0] ?? '';
      answeredBy[label] = (answeredBy[label] ?? 0) + 1;
    } else {
      const cause = failureCause(r);
      failures[cause] = (failures[cause] ?? 0) + 1;
    }
  }
  const serverMs = finite(records.map((r) => r.serverMs));
  const reasons: string[] = [];
  let rule: string;
  if (plan.kind === 'overload') {
    rule = `no ${NO_READY_INSTANCE} and every request answered`;
    const noReady = Object.entries(failures)
      .filter(([cause]) => cause.endsWith(` ${NO_READY_INSTANCE}`))
      .reduce((n, [, count]) => n + count, 0);
    const unanswered = Object.entries(failures)
      .filter(([cause]) => !cause.startsWith('HTTP '))
      .reduce((n, [, count]) => n + count, 0);
    if (noReady > 0) reasons.push(`${noReady} answered ${NO_READY_INSTANCE}`);
    if (unanswered > 0) reasons.push(`${unanswered} without an answer`);
  } else {
    rule =
      quietP99 === undefined
        ? '0 failed'
        : `0 failed, server p99 ≤ ${P99_FACTOR} × quiet p99 (${round(quietP99)} ms)`;
    if (records.length - ok > 0) reasons.push(`${records.length - ok} failed`);
    if (quietP99 !== undefined && !(serverMs.p99 <= P99_FACTOR * quietP99)) {
      reasons.push(`server p99 ${round(serverMs.p99)} ms = ${ratio(serverMs.p99, quietP99)} × quiet p99`);
    }
    if (records.length === 0) reasons.push('no request sent');
  }
  return {
    run,
    ...plan,
    sent: records.length,
    ok,
    failed: records.length - ok,
    failures,
    serverMs,
    socketWaitMs: finite(records.map((r) => r.socketWaitMs)),
    issueLagMs: finite(records.map((r) => r.issueLagMs)),
    totalMs: finite(records.map((r) => r.totalMs)),
    answeredBy,
    verdict: { pass: reasons.length === 0, rule, reasons },
  };
}

const ms = (v: number) => (Number.isFinite(v) ? String(round(v)) : 'n/a');

/**
 * The per-phase Markdown table of bench:rollout (printed by the bench and by bench:summary): failures
 * by cause next to the server time and the client's socket wait, and each phase's verdict.
 */
export function rolloutTable(reports: readonly PhaseReport[]): string[] {
  const quiet = new Map(reports.filter((r) => r.phase === 'quiet').map((r) => [r.run, r.serverMs.p99]));
  const rows = reports.map((r) => {
    const causes = Object.entries(r.failures)
      .sort(([, a], [, b]) => b - a)
      .map(([cause, n]) => `${n} × ${cause}`)
      .join('; ');
    const q = quiet.get(r.run);
    return [
      String(r.run),
      r.kind === 'overload' && !r.phase.includes('overload') ? `${r.phase} (overload)` : r.phase,
      r.instances,
      `${round(r.offeredPerSecond)}/s (${Math.round((100 * r.offeredPerSecond) / r.capacityPerSecond)} %)`,
      String(r.sent),
      String(r.ok),
      r.failed === 0 ? '0' : `${r.failed}: ${causes}`,
      [r.serverMs.p50, r.serverMs.p90, r.serverMs.p99, r.serverMs.max].map(ms).join(' / '),
      r.phase === 'quiet' || q === undefined ? '' : ms(ratio(r.serverMs.p99, q)),
      [r.socketWaitMs.p50, r.socketWaitMs.p90, r.socketWaitMs.p99, r.socketWaitMs.max].map(ms).join(' / '),
      r.verdict.pass ? 'pass' : `FAIL: ${r.verdict.reasons.join(', ')}`,
    ];
  });
  const header = [
    'run',
    'phase',
    'instances',
    'offered (of capacity)',
    'sent',
    'ok',
    'failed: cause',
    'server p50 / p90 / p99 / max ms',
    'p99 ÷ quiet',
    'socket wait p50 / p90 / p99 / max ms',
    'verdict',
  ];
  const align = ['---:', '---', '---', '---:', '---:', '---:', '---', '---:', '---:', '---:', '---'];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(align), ...rows.map(line)];
}

/** One line per verdict kind: how many runs passed every in-capacity phase, and the overload phase. */
export function verdictLines(reports: readonly PhaseReport[]): string[] {
  const runs = [...new Set(reports.map((r) => r.run))];
  const passing = (kind: PhaseKind) =>
    runs.filter((run) => reports.filter((r) => r.run === run && r.kind === kind).every((r) => r.verdict.pass))
      .length;
  return [
    `in-capacity phases (0 failed, server p99 ≤ ${P99_FACTOR} × quiet p99): ${passing('in-capacity')} of ${runs.length} runs pass every one`,
    `overload phase (no ${NO_READY_INSTANCE}, every request answered): ${passing('overload')} of ${runs.length} runs pass`,
  ];
}
