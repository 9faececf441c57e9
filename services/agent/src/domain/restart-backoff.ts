/**
 * Kubernetes' crash-loop back-off: the first restart waits `baseMs`, each further one twice as long up to
 * `capMs`; a container that ran at least `resetAfterMs` counts as healthy and the next wait is `baseMs`
 * again.
 */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
  readonly resetAfterMs: number;
}

/** 10 s doubling to 5 min, reset after 10 min of running: the kubelet's values. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 10_000, capMs: 300_000, resetAfterMs: 600_000 };

/** Failures in a row since the last container that ran long enough. */
export interface BackoffState {
  readonly failures: number;
}

export const NO_FAILURES: BackoffState = { failures: 0 };

/**
 * The wait before the next attempt after a failure (an exit, a failed pull or start).
 * @param ranForMs how long the container that just ended had run; 0 when none ran.
 */
export function nextRestart(
  state: BackoffState,
  policy: BackoffPolicy,
  ranForMs: number,
): { delayMs: number; state: BackoffState } {
  const failures = ranForMs >= policy.resetAfterMs ? 0 : state.failures;
  const delayMs = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(failures, 30));
  return { delayMs, state: { failures: failures + 1 } };
}
