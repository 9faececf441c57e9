import {
  createMessage,
  type InstanceEvent,
  InstancesAssigned,
  InstanceUnassigned,
  type NodeAssignmentEvent,
  versionSpecSchema,
} from '@pier/contracts';
import { createLogger } from '@pier/observability';
import { expectEventually } from '@pier/testing';
import {
  type AssignmentFeed,
  type ContainerDriver,
  type InstanceEventLog,
  type PlatformServices,
} from '../ports';
import { MemoryDriver } from '../../infrastructure/memory/memory.driver';
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
  const events: InstanceEventLog = { append: async () => 1, startedContainer: async () => null };
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

/** A feed that hands over what the test pushes, as the node's subject would deliver it. */
class PushFeed implements AssignmentFeed {
  private onEvent?: (event: NodeAssignmentEvent) => void;
  async start(onEvent: (event: NodeAssignmentEvent) => void) {
    this.onEvent = onEvent;
  }
  push(event: NodeAssignmentEvent) {
    this.onEvent!(event);
  }
  async caughtUp() {
    return true;
  }
  async stop() {}
}

describe('InstanceRuntime', () => {
  it("runs every instance of a node's batch of assignments, and stops one unassigned later", async () => {
    const feed = new PushFeed();
    const driver = new MemoryDriver({ hostname: 'n1', capacity: { cpuMillicores: 4000, memoryMiB: 4096 } });
    const reported: [string, InstanceEvent['type']][] = [];
    const events: InstanceEventLog = {
      append: async (instanceId, event) => reported.push([instanceId, event.type]),
      startedContainer: async () => null,
    };
    const runtime = new InstanceRuntime(
      {
        driver,
        feed,
        events,
        platform: { drainInstance: async () => 'no-router' } as unknown as PlatformServices,
        prober: {} as never,
        logger: createLogger('test', 'silent'),
      },
      { nodeId: NODE, advertiseHost: '127.0.0.1', reconcileIntervalMs: 10, drainTimeoutMs: 0 },
    );
    const spec = versionSpecSchema.parse({ image: 'pier/busybox:latest', command: ['sleep', '1d'] });
    const ids = ['a0000000-0000-4000-8000-00000000000a', 'b0000000-0000-4000-8000-00000000000b'];
    const cause = { messageId: 'm', correlationId: 'c', actor: { kind: 'system', id: 'test' } } as const;
    const at = new Date().toISOString();
    await runtime.start();
    try {
      feed.push(
        createMessage(
          InstancesAssigned,
          {
            nodeId: NODE,
            assignments: ids.map((instanceId) => ({
              instanceId,
              space: 'acme',
              app: 'web',
              version: 1,
              spec,
            })),
          },
          cause,
          at,
        ),
      );
      await expectEventually(async () => {
        expect((await driver.list({ 'pier.node': NODE })).filter((c) => c.running)).toHaveLength(2);
        expect(
          reported
            .filter(([, type]) => type === 'InstanceStarted')
            .map(([id]) => id)
            .sort(),
        ).toEqual(ids);
      });
      feed.push(
        createMessage(
          InstanceUnassigned,
          { nodeId: NODE, instanceId: ids[0]!, reason: 'scale-down' },
          cause,
          at,
        ),
      );
      await expectEventually(async () => {
        const running = (await driver.list({ 'pier.node': NODE })).filter((c) => c.running);
        expect(running.map((c) => c.labels['pier.instance'])).toEqual([ids[1]]);
      });
    } finally {
      await runtime.shutdown();
    }
  });

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
