/** What the liveness monitor knows of one node. */
export interface LivenessEntry {
  readonly nodeId: string;
  readonly liveness: 'up' | 'lost' | 'left';
  /** Monotonic milliseconds of the last heartbeat, or of when watching began. */
  readonly lastSeenMs: number;
  /** Wall-clock time of the last heartbeat actually received. */
  readonly lastHeartbeatAt: string | null;
}

/**
 * Nodes that are up but have been silent for longer than `lostAfterMs` at monotonic time `nowMs`.
 * A pure function of the monitor's table, so the rule is tested without timers.
 */
export function overdueNodes(
  entries: Iterable<LivenessEntry>,
  nowMs: number,
  lostAfterMs: number,
): { nodeId: string; silentForMs: number; lastSeenAt: string | null }[] {
  const overdue = [];
  for (const e of entries) {
    const silentForMs = nowMs - e.lastSeenMs;
    if (e.liveness === 'up' && silentForMs > lostAfterMs) {
      overdue.push({ nodeId: e.nodeId, silentForMs: Math.round(silentForMs), lastSeenAt: e.lastHeartbeatAt });
    }
  }
  return overdue;
}
