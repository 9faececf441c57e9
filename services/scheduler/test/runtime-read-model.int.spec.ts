import { randomUUID } from 'node:crypto';
import {
  CreateApp,
  CreateVersion,
  createMessage,
  INSTANCE,
  InstanceRequested,
  ListAppEvents,
  type PierEvent,
  ScaleVersion,
  SetQuota,
  SetStickySessions,
  versionSpecSchema,
} from '@pier/contracts';
import { expectEventually, queryDatabase } from '@pier/testing';
import { Client } from 'pg';
import { SchedulerHarness } from './scheduler-harness';

/**
 * The runtime read model is kept by two projections, apps and instances. A command on an app waits for
 * the apps projection only: however far behind the instance transitions are, it answers, and its own
 * change shows in its answer and in the app's feed. With the real auth service, NATS and Postgres.
 */
describe('scheduler read model: app commands do not wait for instance events', () => {
  const h = new SchedulerHarness('scheduler-split');
  const { caller } = h;

  beforeAll(async () => {
    await h.setUp();
    // The world learns of the cluster asynchronously: retry until it has.
    await expectEventually(() =>
      h.rpc.call(CreateApp, { space: 'acme', app: 'web', cluster: 'main' }, caller),
    );
  });

  afterAll(() => h.tearDown());

  const feed = async () =>
    (await h.rpc.call(ListAppEvents, { space: 'acme', app: 'web' }, caller)).items.map((e) => e.summary);

  it('answers a command while the instances projection is held up, which then catches up', async () => {
    const checkpoints = `"${h.prefix}".projection_checkpoints`;
    expect(
      (await queryDatabase<{ name: string }>(h.url, `SELECT name FROM ${checkpoints} ORDER BY name`)).map(
        (r) => r.name,
      ),
    ).toEqual(['runtime-apps', 'runtime-instances']);
    // Hold the instances projection: its next batch waits for this lock on its checkpoint row.
    const holder = new Client({ connectionString: h.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT position FROM ${checkpoints} WHERE name = 'runtime-instances' FOR UPDATE`);
      const instanceId = randomUUID();
      const id = randomUUID();
      const requested = createMessage(
        InstanceRequested,
        { instanceId, space: 'acme', app: 'web', version: 1, clusterId: h.clusterId, replaces: null },
        { messageId: id, correlationId: id, actor: { kind: 'service', id: 'scheduler' } },
        new Date().toISOString(),
      ) as PierEvent;
      await h.store.append(INSTANCE, instanceId, [requested], 0);

      const changed = await h.rpc.call(
        SetStickySessions,
        { space: 'acme', app: 'web', enabled: true },
        { ...caller, timeoutMs: 5_000 },
      );
      expect(changed.stickySessions).toBe(true);
      const lines = await feed();
      expect(lines).toContain('sticky sessions on');
      expect(lines).not.toContain(`instance ${instanceId.slice(0, 8)} requested`);

      await holder.query('ROLLBACK');
      await expectEventually(
        async () => expect(await feed()).toContain(`instance ${instanceId.slice(0, 8)} requested`),
        {
          what: 'the instances projection applied the request once released',
        },
      );
    } finally {
      await holder.end();
    }
  });

  it('counts the desired CPU and memory of a space against its quota, version by version', async () => {
    await h.rpc.call(
      SetQuota,
      {
        space: 'acme',
        quota: { maxApps: null, maxInstances: null, maxCpuMillicores: 1000, maxMemoryMiB: 1024 },
      },
      caller,
    );
    await h.rpc.call(CreateApp, { space: 'acme', app: 'quota', cluster: 'main' }, caller);
    const version = async (cpu: number, memory: number) =>
      (
        await h.rpc.call(
          CreateVersion,
          {
            space: 'acme',
            app: 'quota',
            spec: versionSpecSchema.parse({ image: 'pier/busybox:latest', resources: { cpu, memory } }),
            platformAdmin: false,
          },
          caller,
        )
      ).version;
    const scale = (v: number, instances: number) =>
      h.rpc.call(
        ScaleVersion,
        { space: 'acme', app: 'quota', version: v, instances, reason: 'scale' },
        caller,
      );
    const refusal = async (promise: Promise<unknown>) => {
      try {
        await promise;
      } catch (error) {
        return error;
      }
      throw new Error('the call was not refused');
    };

    const first = await version(300, 200);
    await scale(first, 3); // 900 millicores, 600 MiB
    expect(await refusal(scale(first, 4))).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { quota: 'maxCpuMillicores', limit: 1000, requested: 1200 },
    });
    const second = await version(10, 500);
    expect(await refusal(scale(second, 1))).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { quota: 'maxMemoryMiB', limit: 1024, requested: 1100 },
    });
    await scale(first, 1); // 300 millicores, 200 MiB: the second version now fits
    expect((await scale(second, 1)).versions.find((v) => v.version === second)?.desiredInstances).toBe(1);
  });
});
