import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  AddDomain,
  CreateApp,
  CreateVersion,
  createMessage,
  DeleteApp,
  DeleteVersion,
  INSTANCE,
  InstanceNotReady,
  InstanceReady,
  InstanceStarted,
  ListInstances,
  type MessageDefinition,
  type PierEvent,
  RemoveDomain,
  ScaleVersion,
  SetStickySessions,
  SetTraffic,
  versionSpecSchema,
} from '@pier/contracts';
import {
  dropSchema,
  expectEventually,
  runRebuild,
  schemaTables,
  tableDifferences,
  testEnv,
} from '@pier/testing';
import { type z } from 'zod';
import { SchedulerHarness } from './scheduler-harness';
import { joinNode } from './support/node-fixture';

/** The scheduler as built (`nx run @pier/scheduler:build`): the command under test is its `main.js`. */
const SCHEDULER_SCRIPT = join(__dirname, '..', 'dist', 'main.js');

/**
 * `rebuild-projections` of the scheduler: apps, versions, instances and the feed built through the
 * running service (its reconciler placing instances on a node, an agent's reports appended as the agent
 * would), then the built command replays the stream into a fresh schema while the service keeps running,
 * and every table equals the live one row for row: both projections (apps, instances) are rebuilt,
 * each with its own lines of the shared feed. With the real auth service, NATS and Postgres.
 */
describe('scheduler rebuild-projections (real NATS and Postgres)', () => {
  const h = new SchedulerHarness('scheduler-rebuild');
  const { caller } = h;
  const agent = { kind: 'node' as const, id: randomUUID() };
  let rebuilt: string;

  beforeAll(async () => {
    await h.setUp();
    rebuilt = `${h.prefix}_rebuilt`;
    // The world learns of the cluster asynchronously: retry until it has.
    await expectEventually(() =>
      h.rpc.call(CreateApp, { space: 'acme', app: 'web', cluster: 'main' }, caller),
    );
  });

  afterAll(async () => {
    await dropSchema(h.url, rebuilt);
    await h.tearDown();
  });

  /** Appends one event to an instance, as the agent on its node reports it. */
  async function report<D extends MessageDefinition>(
    instanceId: string,
    definition: D,
    data: Omit<z.input<D['schema']>, 'instanceId'>,
  ): Promise<void> {
    const id = randomUUID();
    const event = createMessage(
      definition,
      { ...data, instanceId } as z.input<D['schema']>,
      { messageId: id, correlationId: id, actor: agent },
      new Date().toISOString(),
    ) as unknown as PierEvent;
    await h.store.append(INSTANCE, instanceId, [event], 'any');
  }

  /**
   * Two versions of `web` serving on one node (v2 in the router's panic: its one instance was ready and
   * is not any more), domains, traffic, sticky sessions, a deleted version and a deleted app.
   */
  async function buildState(): Promise<void> {
    const app = { space: 'acme', app: 'web' };
    const spec = versionSpecSchema.parse({
      image: 'pier/busybox:latest',
      ports: [{ containerPort: 8080, protocol: 'http' }],
      resources: { cpu: 10, memory: 16 },
    });
    const version = async () =>
      (await h.rpc.call(CreateVersion, { ...app, spec, platformAdmin: false }, caller)).version;
    await joinNode(h.store, h.clusterId, 'n1');
    const v1 = await version();
    const v2 = await version();
    const v3 = await version();
    await h.rpc.call(DeleteVersion, { ...app, version: v3 }, caller);
    await h.rpc.call(ScaleVersion, { ...app, version: v1, instances: 2, reason: 'deploy' }, caller);
    await h.rpc.call(ScaleVersion, { ...app, version: v2, instances: 1, reason: 'deploy' }, caller);
    await h.rpc.call(SetTraffic, { ...app, weights: { [v1]: 60, [v2]: 40 } }, caller);
    await h.rpc.call(AddDomain, { ...app, host: 'www.example.com' }, caller);
    await h.rpc.call(AddDomain, { ...app, host: 'old.example.com' }, caller);
    await h.rpc.call(RemoveDomain, { ...app, host: 'old.example.com' }, caller);
    await h.rpc.call(SetStickySessions, { ...app, enabled: true }, caller);

    await h.rpc.call(CreateApp, { space: 'acme', app: 'gone', cluster: 'main' }, caller);
    await h.rpc.call(DeleteApp, { space: 'acme', app: 'gone' }, caller);

    const placed = await expectEventually(
      async () => {
        const { items } = await h.rpc.call(ListInstances, app, caller);
        expect(items.filter((i) => i.nodeId !== null)).toHaveLength(3);
        return items;
      },
      { timeoutMs: 20_000, what: 'three instances placed on the node' },
    );
    const readiness = { kind: 'readiness' as const, ok: true, detail: 'GET /: HTTP 200' };
    for (const [n, instance] of placed.entries()) {
      await report(instance.id, InstanceStarted, {
        containerId: `c${n}`,
        host: '127.0.0.1',
        hostPorts: [{ containerPort: 8080, protocol: 'http', hostPort: 31000 + n }],
        restarts: 0,
      });
      await report(instance.id, InstanceReady, { probe: readiness });
    }
    const v2Instance = placed.find((i) => i.version === v2)!;
    await report(v2Instance.id, InstanceNotReady, {
      reason: 'readiness probe failed: HTTP 500',
      probe: { kind: 'readiness', ok: false, detail: 'GET /: HTTP 500' },
    });
  }

  it('replays the stream into a fresh schema equal to the live read model, table by table', async () => {
    await buildState();
    // The reconciler may still be recording what it did: rebuilt again until the two agree.
    const live = await expectEventually(
      async () => {
        await runRebuild(SCHEDULER_SCRIPT, {
          PIER_PREFIX: h.prefix,
          PIER_NATS_URL: testEnv.PIER_TEST_NATS_URL,
          PIER_DATABASE_URL: h.url,
          PIER_DATABASE_SCHEMA: rebuilt,
          PIER_LOG_LEVEL: 'warn',
        });
        const tables = await schemaTables(h.url, h.prefix);
        expect(tableDifferences(tables, await schemaTables(h.url, rebuilt))).toEqual([]);
        return tables;
      },
      { timeoutMs: 90_000, intervalMs: 1000, what: 'the rebuilt scheduler read model equal to the live one' },
    );
    // Every table holds rows, and the feed the lines of both projections, the panic clause among them.
    expect(Object.entries(live).filter(([, rows]) => rows.length === 0)).toEqual([]);
    expect(Object.keys(live)).toEqual([
      'app_events',
      'apps',
      'instances',
      'projection_checkpoints',
      'versions',
    ]);
    const feed = live.app_events!.map(
      (row) => JSON.parse(row) as { instance_id: string | null; summary: string },
    );
    expect(feed.some((line) => line.instance_id === null)).toBe(true);
    expect(feed.some((line) => line.summary.includes('(panic)'))).toBe(true);
  }, 150_000);
});
