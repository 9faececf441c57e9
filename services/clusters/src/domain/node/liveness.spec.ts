import { overdueNodes } from './liveness';

describe('overdueNodes', () => {
  const entry = (nodeId: string, liveness: 'up' | 'lost' | 'left', lastSeenMs: number) => ({
    nodeId,
    liveness,
    lastSeenMs,
    lastHeartbeatAt: null,
  });

  it('reports up nodes silent for longer than the threshold, and only those', () => {
    const entries = [
      entry('fresh', 'up', 9000),
      entry('edge', 'up', 7000),
      entry('silent', 'up', 6000),
      entry('lost', 'lost', 0),
      entry('left', 'left', 0),
    ];
    expect(overdueNodes(entries, 10_000, 3000)).toEqual([
      { nodeId: 'silent', silentForMs: 4000, lastSeenAt: null },
    ]);
  });
});
