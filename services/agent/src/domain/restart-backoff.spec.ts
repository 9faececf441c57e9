import { DEFAULT_BACKOFF, NO_FAILURES, nextRestart, type BackoffState } from './restart-backoff';

function delays(runs: number[], state: BackoffState = NO_FAILURES): number[] {
  const out: number[] = [];
  for (const ranForMs of runs) {
    const next = nextRestart(state, DEFAULT_BACKOFF, ranForMs);
    out.push(next.delayMs);
    state = next.state;
  }
  return out;
}

describe('restart back-off', () => {
  it('doubles from 10 s and stays at the 5 min cap', () => {
    expect(delays([0, 0, 0, 0, 0, 0, 0, 0])).toEqual([
      10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000,
    ]);
  });

  it('starts again at 10 s after a container ran 10 minutes, not after 9:59', () => {
    expect(delays([0, 0, 0, 599_999])).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(delays([0, 0, 0, 600_000, 0])).toEqual([10_000, 20_000, 40_000, 10_000, 20_000]);
  });

  it('follows the policy it is given (milliseconds in tests)', () => {
    const policy = { baseMs: 5, capMs: 12, resetAfterMs: 100 };
    const first = nextRestart(NO_FAILURES, policy, 0);
    const second = nextRestart(first.state, policy, 10);
    const third = nextRestart(second.state, policy, 10);
    expect([first.delayMs, second.delayMs, third.delayMs]).toEqual([5, 10, 12]);
    expect(nextRestart(third.state, policy, 100).delayMs).toBe(5);
  });

  it('never overflows after very many failures', () => {
    expect(nextRestart({ failures: 5000 }, DEFAULT_BACKOFF, 0).delayMs).toBe(300_000);
  });
});
