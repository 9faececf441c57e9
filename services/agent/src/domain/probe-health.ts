/**
 * The health of one running container as Kubernetes' kubelet sees it, as pure functions of the probe
 * results and the time they arrive:
 * - the startup probe gates the others: until it succeeds, neither readiness nor liveness runs; failing
 *   `failureThreshold` times in a row restarts the container, like liveness;
 * - readiness alone decides traffic: `successThreshold` successes in a row make the container ready,
 *   `failureThreshold` failures in a row not ready — never a restart;
 * - liveness failing `failureThreshold` times in a row restarts the container;
 * - any probe failing `failureThreshold` times in a row because the engine lost the container's port
 *   mapping (its published port refuses while the container itself accepts: seen for a container
 *   started while the engine restarted) restarts it: waiting cannot repair that, a new container does;
 * - a container never ready yet whose published port still refuses connections `bootTimeoutMs` after
 *   it started (a readiness or startup probe failing `failureThreshold` times in a row by a refusal) is
 *   restarted, like Heroku's boot timeout: nothing listens where its traffic would go.
 * Without a readiness probe the container is ready once started (and past its startup probe, if any).
 * Only transitions are emitted: a readiness that does not change emits nothing.
 */

export type ProbeKind = 'startup' | 'readiness' | 'liveness';

export interface ProbeTiming {
  readonly initialDelaySeconds: number;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
}

export type ProbeTimings = Partial<Record<ProbeKind, ProbeTiming>>;

export interface ProbeOutcome {
  readonly ok: boolean;
  /** Why it failed (or what it saw), for the instance's reason. */
  readonly detail: string;
  /** It failed because the engine lost the container's port mapping (see above). */
  readonly portMappingLost?: boolean;
  /** It failed because the published port refused the connection. */
  readonly refused?: boolean;
}

/** The probe run that caused an effect, so the transition can say what was seen. */
export interface ProbeRun extends ProbeOutcome {
  readonly kind: ProbeKind;
}

interface Track {
  readonly nextAt: number;
  readonly inFlight: boolean;
  readonly successes: number;
  readonly failures: number;
}

export interface HealthState {
  readonly startedAt: number;
  /** 0: no boot timeout. */
  readonly bootTimeoutMs: number;
  /** Whether it has been ready at least once. */
  readonly wasReady: boolean;
  readonly startupPassed: boolean;
  /** Readiness as last emitted; `unknown` until the first transition of this container. */
  readonly readiness: 'unknown' | 'ready' | 'not-ready';
  /** A restart was decided: no probe runs any more. */
  readonly finished: boolean;
  readonly tracks: Readonly<Partial<Record<ProbeKind, Track>>>;
}

/**
 * A transition. Every effect a probe caused carries that run as `probe`; only the `ready` of a container
 * that no probe gates has none.
 */
export type HealthEffect =
  | { readonly type: 'ready'; readonly probe?: ProbeRun }
  | { readonly type: 'not-ready'; readonly reason: string; readonly probe: ProbeRun }
  | { readonly type: 'restart'; readonly reason: string; readonly probe: ProbeRun };

export interface HealthStep {
  readonly state: HealthState;
  readonly effects: readonly HealthEffect[];
}

const ORDER: readonly ProbeKind[] = ['startup', 'readiness', 'liveness'];

const track = (nextAt: number): Track => ({ nextAt, inFlight: false, successes: 0, failures: 0 });
const delayOf = (timing: ProbeTiming) => timing.initialDelaySeconds * 1000;

/**
 * Health of a container that started at `startedAt`; emits `ready` at once when nothing gates it.
 * `bootTimeoutMs` (0: none): see the rules above.
 */
export function startHealth(probes: ProbeTimings, startedAt: number, bootTimeoutMs = 0): HealthStep {
  const state: HealthState = {
    startedAt,
    bootTimeoutMs,
    wasReady: false,
    startupPassed: !probes.startup,
    readiness: 'unknown',
    finished: false,
    tracks: {},
  };
  return probes.startup
    ? { state: { ...state, tracks: { startup: track(startedAt + delayOf(probes.startup)) } }, effects: [] }
    : afterStartup(state, probes, startedAt);
}

/**
 * Once startup passed: readiness and liveness begin, no earlier than their initial delay. Without a
 * readiness probe the container is ready now, because of `startup` (the passing run) if it had one.
 */
function afterStartup(state: HealthState, probes: ProbeTimings, now: number, startup?: ProbeRun): HealthStep {
  const tracks: Partial<Record<ProbeKind, Track>> = {};
  for (const kind of ['readiness', 'liveness'] as const) {
    const timing = probes[kind];
    if (timing) tracks[kind] = track(Math.max(now, state.startedAt + delayOf(timing)));
  }
  const next: HealthState = { ...state, startupPassed: true, tracks };
  if (probes.readiness) return { state: next, effects: [] };
  return {
    state: { ...next, readiness: 'ready', wasReady: true },
    effects: [startup ? { type: 'ready', probe: startup } : { type: 'ready' }],
  };
}

/** The probes to run now; they are marked in flight and their next run is one period later. */
export function dueProbes(
  state: HealthState,
  probes: ProbeTimings,
  now: number,
): { state: HealthState; due: ProbeKind[] } {
  if (state.finished) return { state, due: [] };
  const tracks = { ...state.tracks };
  const due: ProbeKind[] = [];
  for (const kind of ORDER) {
    const t = tracks[kind];
    const timing = probes[kind];
    if (!t || !timing || t.inFlight || t.nextAt > now) continue;
    tracks[kind] = { ...t, inFlight: true, nextAt: now + timing.periodSeconds * 1000 };
    due.push(kind);
  }
  return { state: { ...state, tracks }, due };
}

/** When the next probe is due, or undefined when none will run until a result comes in. */
export function nextProbeAt(state: HealthState): number | undefined {
  if (state.finished) return undefined;
  const times = Object.values(state.tracks)
    .filter((t) => !t.inFlight)
    .map((t) => t.nextAt);
  return times.length ? Math.min(...times) : undefined;
}

/** Applies the result of a probe that was due; results of probes no longer tracked are ignored. */
export function recordProbe(
  state: HealthState,
  probes: ProbeTimings,
  kind: ProbeKind,
  outcome: ProbeOutcome,
  now: number,
): HealthStep {
  const t = state.tracks[kind];
  const timing = probes[kind];
  if (state.finished || !t || !timing) return { state, effects: [] };
  const counted: Track = outcome.ok
    ? { ...t, inFlight: false, successes: t.successes + 1, failures: 0 }
    : { ...t, inFlight: false, successes: 0, failures: t.failures + 1 };
  const next: HealthState = { ...state, tracks: { ...state.tracks, [kind]: counted } };
  const failed = counted.failures >= timing.failureThreshold;
  const passed = counted.successes >= timing.successThreshold;
  const probe: ProbeRun = { kind, ok: outcome.ok, detail: outcome.detail };
  if (failed && outcome.portMappingLost) return restart(next, probe);
  if (
    failed &&
    outcome.refused &&
    kind !== 'liveness' &&
    !next.wasReady &&
    next.bootTimeoutMs > 0 &&
    now - next.startedAt >= next.bootTimeoutMs
  ) {
    const reason = `nothing accepted connections on its published port ${Math.round(next.bootTimeoutMs / 1000)} s after it started (${kind} probe: ${outcome.detail})`;
    return { state: { ...next, finished: true }, effects: [{ type: 'restart', reason, probe }] };
  }
  switch (kind) {
    case 'startup':
      if (failed) return restart(next, probe);
      return passed ? afterStartup(next, probes, now, probe) : { state: next, effects: [] };
    case 'liveness':
      return failed ? restart(next, probe) : { state: next, effects: [] };
    case 'readiness':
      if (passed && next.readiness !== 'ready') {
        return {
          state: { ...next, readiness: 'ready', wasReady: true },
          effects: [{ type: 'ready', probe }],
        };
      }
      if (failed && next.readiness !== 'not-ready') {
        const reason = `readiness probe failed: ${outcome.detail}`;
        return {
          state: { ...next, readiness: 'not-ready' },
          effects: [{ type: 'not-ready', reason, probe }],
        };
      }
      return { state: next, effects: [] };
  }
}

function restart(state: HealthState, probe: ProbeRun): HealthStep {
  const reason = `${probe.kind} probe failed: ${probe.detail}`;
  return { state: { ...state, finished: true }, effects: [{ type: 'restart', reason, probe }] };
}
