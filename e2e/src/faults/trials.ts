/** The faults of the suite, in the order they run: the machine's Docker engine last. */
export const FAULTS = [
  ...(['gateway', 'auth', 'clusters', 'scheduler', 'router', 'agent'] as const).map((service) => ({
    name: `kill-${service}` as const,
    /** Failed requests allowed: a killed router's in-flight ones (at most one per load worker). */
    maxFailed: (workers: number) => (service === 'router' ? workers : 0),
  })),
  { name: 'node-lost' as const, maxFailed: () => 0 },
  { name: 'restart-nats' as const, maxFailed: () => 0 },
  { name: 'restart-postgres' as const, maxFailed: () => 0 },
  // Every process stops, the router (and its HAProxy) among them: requests fail until it is back.
  { name: 'down-up' as const, maxFailed: () => Number.POSITIVE_INFINITY },
  // deps.sh runs dockerd with --live-restore: the containers, and so the apps, keep running meanwhile.
  // But the engine rebuilds its NAT rules as it starts, and published ports refuse connections for that
  // moment (~0.3 s here): HAProxy's retries all fail at once, so a closed-loop load counts hundreds of
  // instant 503s. What is bounded is how long that lasts.
  { name: 'restart-dockerd' as const, maxFailed: () => Number.POSITIVE_INFINITY, maxOutageMs: 2000 },
];

/** The longest a fault may keep requests failing, from the first failed answer to the last (if bounded). */
export const maxOutageMs = (fault: (typeof FAULTS)[number]): number | undefined =>
  'maxOutageMs' in fault ? fault.maxOutageMs : undefined;

/** From the first failed answer to the last, in ms (entries start with their ISO time). */
export const outageMs = (failed: readonly string[]): number =>
  failed.length < 2
    ? 0
    : Date.parse(failed[failed.length - 1]!.split(' ')[0]!) - Date.parse(failed[0]!.split(' ')[0]!);

export type FaultName = (typeof FAULTS)[number]['name'];

/** What one trial measured. */
export interface TrialResult {
  readonly fault: FaultName;
  readonly trial: number;
  /** What the platform was doing when the fault struck. */
  readonly action: 'scale' | 'rollout';
  /** When the fault struck, after the scale request. */
  readonly delayMs: number;
  /** From the fault to the deploy settled (exact instances, containers, router serving). */
  readonly recoverMs: number;
  /** From the fault to the killed process ready again, or (node-lost) to the replacements serving. */
  readonly readyMs: number | null;
  readonly sent: number;
  readonly failed: number;
}

/** mulberry32: a small seeded generator, so a trial's random point can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Nearest-rank median and maximum; null for no values. */
export function p50Max(values: readonly number[]): { p50: number; max: number } | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: sorted[Math.ceil(sorted.length / 2) - 1]!, max: sorted[sorted.length - 1]! };
}

/** Per fault: trials, time to recover and to ready (p50/max, ms), requests failed of sent. */
export function formatFaultTable(results: readonly TrialResult[], seed: number): string {
  const faults = [...new Set(results.map((r) => r.fault))];
  const cell = (s: { p50: number; max: number } | null) => (s ? `${s.p50} / ${s.max}` : '');
  const rows = [
    ['fault', 'trials', 'recover p50 / max ms', 'ready p50 / max ms', 'failed / sent'],
    ...faults.map((fault) => {
      const of = results.filter((r) => r.fault === fault);
      return [
        fault,
        String(of.length),
        cell(p50Max(of.map((r) => r.recoverMs))),
        cell(p50Max(of.flatMap((r) => (r.readyMs === null ? [] : [r.readyMs])))),
        `${of.reduce((a, r) => a + r.failed, 0)} / ${of.reduce((a, r) => a + r.sent, 0)}`,
      ];
    }),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((v, c) => v.padEnd(widths[c]!)).join('  ');
  return [`fault suite, seed ${seed}:`, line(rows[0]!), ...rows.slice(1).map(line)].join('\n');
}
