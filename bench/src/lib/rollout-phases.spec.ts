import type { TimedRequest } from './open-loop';
import { type PhasePlan, reportPhase, rolloutTable, verdictLines } from './rollout-phases';

const plan = (phase: string, kind: PhasePlan['kind'] = 'in-capacity'): PhasePlan => ({
  phase,
  kind,
  instances: '4 → 1',
  offeredPerSecond: 50,
  capacityPerSecond: 90,
  seconds: 10,
});
const request = (serverMs: number, status = 200, body = 'v1 abc', error?: string): TimedRequest => ({
  phase: 'x',
  dueAt: 0,
  issueLagMs: 0,
  socketWaitMs: 1,
  serverMs,
  totalMs: serverMs + 1,
  status,
  body,
  ...(error ? { error } : {}),
});
const noReady = '{"error":{"code":"NO_READY_INSTANCE","message":"…"}}';
const overloaded = '{"error":{"code":"APP_OVERLOADED","message":"…"}}';

describe('reportPhase', () => {
  const fast = Array.from({ length: 100 }, (_, i) => request(5 + (i % 5)));

  it('passes an in-capacity phase with 0 failed and p99 within 2 × quiet', () => {
    const r = reportPhase(1, plan('scale-down'), fast, 9);
    expect(r).toMatchObject({ sent: 100, ok: 100, failed: 0, answeredBy: { v1: 100 } });
    expect(r.verdict).toMatchObject({ pass: true, reasons: [] });
  });

  it('fails an in-capacity phase on one failure or on a p99 over 2 × quiet', () => {
    const failed = reportPhase(1, plan('scale-down'), [...fast, request(3, 503, noReady)], 9);
    expect(failed.failures).toEqual({ 'HTTP 503 NO_READY_INSTANCE': 1 });
    expect(failed.verdict.pass).toBe(false);
    const slow = reportPhase(1, plan('weights'), [...fast, ...fast.map((r) => ({ ...r, serverMs: 40 }))], 9);
    expect(slow.failed).toBe(0);
    expect(slow.verdict.pass).toBe(false);
    expect(slow.verdict.reasons[0]).toMatch(/server p99 40 ms = 4.44 × quiet p99/);
  });

  it('passes an overload phase that sheds with another code, fails one that says NO_READY_INSTANCE or drops', () => {
    const shed = reportPhase(1, plan('overload', 'overload'), [...fast, request(1, 503, overloaded)]);
    expect(shed.verdict.pass).toBe(true);
    const noInstance = reportPhase(1, plan('overload', 'overload'), [...fast, request(1, 503, noReady)]);
    expect(noInstance.verdict).toMatchObject({ pass: false, reasons: ['1 answered NO_READY_INSTANCE'] });
    const dropped = reportPhase(1, plan('overload', 'overload'), [
      ...fast,
      request(Number.NaN, 0, '', 'timeout waiting for the answer'),
    ]);
    expect(dropped.verdict).toMatchObject({ pass: false, reasons: ['1 without an answer'] });
  });

  it('tables every phase with its verdict, and counts runs passing', () => {
    const quiet = reportPhase(1, plan('quiet'), fast);
    const down = reportPhase(1, plan('scale-down'), [...fast, request(3, 503, noReady)], quiet.serverMs.p99);
    const table = rolloutTable([quiet, down]);
    expect(table).toHaveLength(4);
    expect(table[3]).toContain('1: 1 × HTTP 503 NO_READY_INSTANCE');
    expect(table[3]).toContain('FAIL: 1 failed');
    expect(verdictLines([quiet, down])[0]).toMatch(/0 of 1 runs pass every one/);
  });
});
