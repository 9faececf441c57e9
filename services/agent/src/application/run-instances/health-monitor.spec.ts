import { type VersionSpec } from '@pier/contracts';
import { expectEventually } from '@pier/testing';
import { type HealthEffect } from '../../domain/probe-health';
import { HealthMonitor } from './health-monitor';

const readiness = (failureThreshold: number): VersionSpec['probes'] => ({
  readiness: {
    exec: { command: ['true'] },
    initialDelaySeconds: 0,
    periodSeconds: 1,
    timeoutSeconds: 1,
    successThreshold: 1,
    failureThreshold,
  },
});

/** Probes run on timers nobody awaits: whatever a check or an effect does must not escape them. */
describe('HealthMonitor when checks or effects fail', () => {
  let monitor: HealthMonitor | undefined;
  afterEach(() => monitor?.stop());

  it('counts a check that rejects as a failed run, with the error as its detail', async () => {
    const effects: HealthEffect[] = [];
    monitor = new HealthMonitor(
      readiness(1),
      () => Promise.reject(new Error('the engine went away')),
      (effect) => effects.push(effect),
    );
    monitor.start(Date.now());
    await expectEventually(() => expect(effects).toHaveLength(1));
    expect(effects[0]).toEqual({
      type: 'not-ready',
      reason: 'readiness probe failed: the check failed: the engine went away',
      probe: { kind: 'readiness', ok: false, detail: 'the check failed: the engine went away' },
    });
  });

  it('reports an effect handler that throws and keeps probing', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    monitor = new HealthMonitor(
      readiness(1),
      async () => ({ ok: ++runs % 2 === 0, detail: `run ${runs}` }),
      () => {
        throw new Error('report failed');
      },
      (error) => errors.push(error),
    );
    monitor.start(Date.now());
    await expectEventually(() => expect(runs).toBeGreaterThanOrEqual(2), { timeoutMs: 5000 });
    expect(errors.map((e) => (e as Error).message)).toContain('report failed');
  });
});
