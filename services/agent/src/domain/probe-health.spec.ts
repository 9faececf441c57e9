import {
  dueProbes,
  type HealthEffect,
  type HealthState,
  nextProbeAt,
  type ProbeKind,
  type ProbeTimings,
  recordProbe,
  startHealth,
} from './probe-health';

const timing = (overrides: Partial<ProbeTimings['readiness']> = {}) => ({
  initialDelaySeconds: 0,
  periodSeconds: 10,
  timeoutSeconds: 1,
  successThreshold: 1,
  failureThreshold: 3,
  ...overrides,
});
const ok = { ok: true, detail: 'HTTP 200' };
const bad = { ok: false, detail: 'HTTP 500' };

/** Runs every due probe at `now` and feeds it `outcome`; returns the effects in order. */
function runDue(
  probes: ProbeTimings,
  state: HealthState,
  now: number,
  outcomes: Partial<
    Record<ProbeKind, { ok: boolean; detail: string; portMappingLost?: boolean; refused?: boolean }>
  >,
): { state: HealthState; effects: HealthEffect[]; ran: ProbeKind[] } {
  const due = dueProbes(state, probes, now);
  let current = due.state;
  const effects: HealthEffect[] = [];
  for (const kind of due.due) {
    const step = recordProbe(current, probes, kind, outcomes[kind] ?? ok, now);
    current = step.state;
    effects.push(...step.effects);
  }
  return { state: current, effects, ran: due.due };
}

describe('probe health', () => {
  it('is ready as soon as started when there is no probe at all, with no probe to show for it', () => {
    const step = startHealth({}, 1000);
    expect(step.effects).toStrictEqual([{ type: 'ready' }]);
    expect(nextProbeAt(step.state)).toBeUndefined();
  });

  it('is ready as soon as started when only liveness is probed, with no probe to show for it', () => {
    const step = startHealth({ liveness: timing() }, 1000);
    expect(step.effects).toStrictEqual([{ type: 'ready' }]);
    expect(nextProbeAt(step.state)).toBe(1000);
  });

  it('runs neither readiness nor liveness until the startup probe passed', () => {
    const probes = { startup: timing({ periodSeconds: 1 }), readiness: timing(), liveness: timing() };
    let { state } = startHealth(probes, 0);
    let step = runDue(probes, state, 0, { startup: bad });
    expect(step.ran).toEqual(['startup']);
    step = runDue(probes, step.state, 1000, { startup: bad });
    expect(step.ran).toEqual(['startup']);
    expect(step.effects).toEqual([]);
    step = runDue(probes, step.state, 2000, { startup: ok });
    expect(step.ran).toEqual(['startup']);
    expect(step.effects).toEqual([]); // a readiness probe exists: not ready yet
    state = step.state;
    expect(state.startupPassed).toBe(true);
    step = runDue(probes, state, 2000, {});
    expect(step.ran).toEqual(['readiness', 'liveness']);
    expect(step.effects).toEqual([{ type: 'ready', probe: { kind: 'readiness', ...ok } }]);
  });

  it('restarts when startup fails failureThreshold times in a row, and then probes nothing more', () => {
    const probes = { startup: timing({ periodSeconds: 1, failureThreshold: 2 }), liveness: timing() };
    let step = runDue(probes, startHealth(probes, 0).state, 0, { startup: bad });
    expect(step.effects).toEqual([]);
    step = runDue(probes, step.state, 1000, { startup: { ok: false, detail: 'connection refused' } });
    expect(step.effects).toEqual([
      {
        type: 'restart',
        reason: 'startup probe failed: connection refused',
        probe: { kind: 'startup', ok: false, detail: 'connection refused' },
      },
    ]);
    expect(runDue(probes, step.state, 60_000, {}).ran).toEqual([]);
    expect(nextProbeAt(step.state)).toBeUndefined();
  });

  it('is ready once the startup probe passes when there is no readiness probe', () => {
    const probes = { startup: timing() };
    const step = runDue(probes, startHealth(probes, 0).state, 0, { startup: ok });
    expect(step.effects).toEqual([
      { type: 'ready', probe: { kind: 'startup', ok: true, detail: 'HTTP 200' } },
    ]);
  });

  it('waits the initial delay, counted from the container start, then probes every period', () => {
    const probes = { readiness: timing({ initialDelaySeconds: 5, periodSeconds: 2 }) };
    const { state } = startHealth(probes, 1000);
    expect(nextProbeAt(state)).toBe(6000);
    expect(runDue(probes, state, 5999, {}).ran).toEqual([]);
    const first = dueProbes(state, probes, 6000);
    expect(first.due).toEqual(['readiness']);
    // In flight: not due again, and nothing to wake up for until its result arrives.
    expect(dueProbes(first.state, probes, 9000).due).toEqual([]);
    expect(nextProbeAt(first.state)).toBeUndefined();
    const recorded = recordProbe(first.state, probes, 'readiness', ok, 6500);
    expect(nextProbeAt(recorded.state)).toBe(8000);
  });

  it('reports readiness transitions only, after the thresholds', () => {
    const probes = { readiness: timing({ successThreshold: 2, failureThreshold: 2, periodSeconds: 1 }) };
    let state = startHealth(probes, 0).state;
    const effectsAt = (now: number, outcome: typeof ok) => {
      const step = runDue(probes, state, now, { readiness: outcome });
      state = step.state;
      return step.effects;
    };
    const ready = { type: 'ready', probe: { kind: 'readiness', ok: true, detail: 'HTTP 200' } };
    expect(effectsAt(0, ok)).toEqual([]);
    expect(effectsAt(1000, ok)).toEqual([ready]);
    expect(effectsAt(2000, ok)).toEqual([]);
    expect(effectsAt(3000, bad)).toEqual([]);
    expect(effectsAt(4000, ok)).toEqual([]); // a success in between resets the failures
    expect(effectsAt(5000, bad)).toEqual([]);
    expect(effectsAt(6000, bad)).toEqual([
      {
        type: 'not-ready',
        reason: 'readiness probe failed: HTTP 500',
        probe: { kind: 'readiness', ok: false, detail: 'HTTP 500' },
      },
    ]);
    expect(effectsAt(7000, bad)).toEqual([]);
    expect(effectsAt(8000, ok)).toEqual([]);
    expect(effectsAt(9000, ok)).toEqual([ready]);
  });

  it('reports not ready when readiness fails before it ever passed, and never restarts for it', () => {
    const probes = { readiness: timing({ failureThreshold: 1, periodSeconds: 1 }) };
    let step = runDue(probes, startHealth(probes, 0).state, 0, { readiness: bad });
    expect(step.effects).toEqual([
      {
        type: 'not-ready',
        reason: 'readiness probe failed: HTTP 500',
        probe: { kind: 'readiness', ok: false, detail: 'HTTP 500' },
      },
    ]);
    for (let t = 1000; t < 10_000; t += 1000) {
      step = runDue(probes, step.state, t, { readiness: bad });
      expect(step.effects).toEqual([]);
    }
    expect(step.state.finished).toBe(false);
  });

  it('restarts only after failureThreshold consecutive liveness failures', () => {
    const probes = { liveness: timing({ failureThreshold: 3, periodSeconds: 1 }) };
    let step = runDue(probes, startHealth(probes, 0).state, 0, { liveness: bad });
    step = runDue(probes, step.state, 1000, { liveness: bad });
    step = runDue(probes, step.state, 2000, { liveness: ok });
    step = runDue(probes, step.state, 3000, { liveness: bad });
    step = runDue(probes, step.state, 4000, { liveness: bad });
    expect(step.effects).toEqual([]);
    step = runDue(probes, step.state, 5000, { liveness: { ok: false, detail: 'timed out after 1 s' } });
    expect(step.effects).toEqual([
      {
        type: 'restart',
        reason: 'liveness probe failed: timed out after 1 s',
        probe: { kind: 'liveness', ok: false, detail: 'timed out after 1 s' },
      },
    ]);
  });

  it('restarts when readiness fails failureThreshold times in a row on a lost port mapping', () => {
    const probes = { readiness: timing({ failureThreshold: 3, periodSeconds: 1 }) };
    const lost = {
      ok: false,
      detail: 'ECONNREFUSED; the engine lost its port mapping',
      portMappingLost: true,
    };
    let step = runDue(probes, startHealth(probes, 0).state, 0, { readiness: ok });
    // Once or twice (an engine rebuilding its NAT rules refuses for a moment): nothing yet.
    step = runDue(probes, step.state, 1000, { readiness: lost });
    step = runDue(probes, step.state, 2000, { readiness: lost });
    expect(step.effects).toEqual([]);
    step = runDue(probes, step.state, 3000, { readiness: lost });
    expect(step.effects).toEqual([
      {
        type: 'restart',
        reason: 'readiness probe failed: ECONNREFUSED; the engine lost its port mapping',
        probe: { kind: 'readiness', ok: false, detail: 'ECONNREFUSED; the engine lost its port mapping' },
      },
    ]);
    expect(step.state.finished).toBe(true);
  });

  it('restarts a container never ready whose published port still refuses at the boot timeout', () => {
    const probes = { readiness: timing({ failureThreshold: 3, periodSeconds: 1 }) };
    const refused = { ok: false, detail: 'GET http://127.0.0.1:32768/: ECONNREFUSED', refused: true };
    let step = runDue(probes, startHealth(probes, 0, 5000).state, 0, { readiness: refused });
    for (let t = 1000; t < 5000; t += 1000) {
      step = runDue(probes, step.state, t, { readiness: refused });
      expect(step.effects.map((e) => e.type)).not.toContain('restart');
    }
    step = runDue(probes, step.state, 5000, { readiness: refused });
    expect(step.effects).toEqual([
      {
        type: 'restart',
        reason:
          'nothing accepted connections on its published port 5 s after it started (readiness probe: GET http://127.0.0.1:32768/: ECONNREFUSED)',
        probe: { kind: 'readiness', ok: false, detail: refused.detail },
      },
    ]);
  });

  it('never restarts for refusals once it has been ready, nor for other failures, nor without a boot timeout', () => {
    const probes = { readiness: timing({ failureThreshold: 1, periodSeconds: 1 }) };
    const refused = { ok: false, detail: 'ECONNREFUSED', refused: true };
    const kinds = (s: { effects: readonly HealthEffect[] }) => s.effects.map((e) => e.type);
    let wasReady = runDue(probes, startHealth(probes, 0, 2000).state, 0, { readiness: ok });
    let failing = runDue(probes, startHealth(probes, 0, 2000).state, 0, { readiness: bad });
    let noTimeout = runDue(probes, startHealth(probes, 0).state, 0, { readiness: refused });
    for (let t = 1000; t <= 10_000; t += 1000) {
      wasReady = runDue(probes, wasReady.state, t, { readiness: refused });
      failing = runDue(probes, failing.state, t, { readiness: bad });
      noTimeout = runDue(probes, noTimeout.state, t, { readiness: refused });
      for (const step of [wasReady, failing, noTimeout]) expect(kinds(step)).not.toContain('restart');
    }
  });

  it('ignores a result that arrives after a restart was decided', () => {
    const probes = { readiness: timing({ periodSeconds: 1 }), liveness: timing({ failureThreshold: 1 }) };
    const started = startHealth(probes, 0).state;
    const due = dueProbes(started, probes, 0);
    expect(due.due).toEqual(['readiness', 'liveness']);
    const restarted = recordProbe(due.state, probes, 'liveness', bad, 10);
    expect(restarted.effects).toEqual([
      {
        type: 'restart',
        reason: 'liveness probe failed: HTTP 500',
        probe: { kind: 'liveness', ok: false, detail: 'HTTP 500' },
      },
    ]);
    expect(recordProbe(restarted.state, probes, 'readiness', ok, 20).effects).toEqual([]);
  });
});
