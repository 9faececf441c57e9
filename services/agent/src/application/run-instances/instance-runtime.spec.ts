import { createLogger } from '@pier/observability';
import { expectEventually } from '@pier/testing';
import {
  type AssignmentFeed,
  type ContainerDriver,
  type InstanceEventLog,
  type PlatformServices,
} from '../ports';
import { InstanceRuntime } from './instance-runtime';

const NODE = '11111111-1111-4111-8111-111111111111';
const STRAY = {
  id: 'stray',
  labels: { 'pier.node': NODE, 'pier.instance': '33333333-3333-4333-8333-333333333333' },
  running: true,
  createdAt: 0,
};

/** A feed with no assignments that reports caught up only when told. */
class ScriptedFeed implements AssignmentFeed {
  caught = false;
  async start() {}
  async caughtUp() {
    return this.caught;
  }
  async stop() {}
}

function strayDriver(removed: string[], onList: () => void = () => undefined): ContainerDriver {
  return {
    list: async () => {
      onList();
      return removed.includes('stray') ? [] : [STRAY];
    },
    inspect: async () => ({
      id: 'stray',
      labels: STRAY.labels,
      running: true,
      exitCode: null,
      oomKilled: false,
      startedAt: 0,
      finishedAt: null,
      error: '',
      ports: [],
    }),
    stop: async () => undefined,
    destroy: async (id: string) => void removed.push(id),
  } as unknown as ContainerDriver;
}

/** A runtime over `driver` and `feed`; strays get no grace unless `stray` says otherwise. */
function runtimeOn(
  driver: ContainerDriver,
  feed: AssignmentFeed,
  stray: { strayGraceSeconds?: number } = { strayGraceSeconds: 0 },
): InstanceRuntime {
  const events: InstanceEventLog = { append: async () => undefined, startedContainer: async () => null };
  return new InstanceRuntime(
    {
      driver,
      feed,
      events,
      platform: {} as PlatformServices,
      prober: {} as never,
      logger: createLogger('test', 'silent'),
    },
    { nodeId: NODE, advertiseHost: '127.0.0.1', reconcileIntervalMs: 10, ...stray },
  );
}

describe('InstanceRuntime', () => {
  it('counts as vacated only once caught up and no container of the node is left', async () => {
    const removed: string[] = [];
    const feed = new ScriptedFeed();
    const runtime = runtimeOn(strayDriver(removed), feed);
    await runtime.start();
    try {
      expect(await runtime.vacated(100)).toBe(false);
      feed.caught = true;
      expect(await runtime.vacated(10_000)).toBe(true);
      expect(removed).toEqual(['stray']);
    } finally {
      await runtime.shutdown();
    }
  });

  it('removes a stray only once the assignment feed has caught up', async () => {
    const removed: string[] = [];
    let passes = 0;
    const feed = new ScriptedFeed();
    const runtime = runtimeOn(
      strayDriver(removed, () => passes++),
      feed,
      {},
    );
    await runtime.start();
    try {
      // Several passes saw the stray while the feed had not caught up: none removed it.
      await expectEventually(() => expect(passes).toBeGreaterThanOrEqual(5));
      expect(removed).toEqual([]);
      feed.caught = true;
      await expectEventually(() => expect(removed).toEqual(['stray']));
    } finally {
      await runtime.shutdown();
    }
  });
});
