import { randomUUID } from 'node:crypto';
import {
  CreateApp,
  createMessage,
  INSTANCE,
  InstanceExited,
  InstanceNotReady,
  InstanceReady,
  InstanceRequested,
  InstanceStarted,
  ListAppEvents,
  ListInstances,
  type MessageDefinition,
  type PierEvent,
  type ProbeResult,
} from '@pier/contracts';
import { expectEventually, queryDatabase } from '@pier/testing';
import { type z } from 'zod';
import { SchedulerHarness } from './scheduler-harness';

/**
 * An instance's last probe result through the scheduler's read model: the agent's transitions are
 * appended here as an agent would (with and without the probe run behind them), and `ListInstances`
 * shows the one carried by the latest transition that had one. With the real auth service.
 *
 * The instances belong to a version the app does not have, so the scheduler stops them as soon as it
 * sees them; a stop carries no probe, so the last probe result must come through it unchanged.
 */
describe('scheduler instances: last probe result (real NATS and Postgres)', () => {
  const h = new SchedulerHarness('scheduler-probe');
  const { caller } = h;
  const agent = { kind: 'node' as const, id: randomUUID() };
  const t0 = Date.now();
  /** Event times a second apart, so `at` shows which transition the result came from. */
  const at = (n: number) => new Date(t0 + n * 1000).toISOString();

  beforeAll(async () => {
    await h.setUp();
    // The world learns of the cluster asynchronously: retry until it has.
    await expectEventually(() =>
      h.rpc.call(CreateApp, { space: 'acme', app: 'web', cluster: 'main' }, caller),
    );
  });

  afterAll(() => h.tearDown());

  /** Appends one event to an instance, as the agent on its node reports it. */
  async function report<D extends MessageDefinition>(
    instanceId: string,
    definition: D,
    data: Omit<z.input<D['schema']>, 'instanceId'>,
    occurredAt: string,
  ): Promise<void> {
    const id = randomUUID();
    const event = createMessage(
      definition,
      { ...data, instanceId } as z.input<D['schema']>,
      { messageId: id, correlationId: id, actor: agent },
      occurredAt,
    ) as unknown as PierEvent;
    await h.store.append(INSTANCE, instanceId, [event], 'any');
  }

  /** Requests an instance of web v1 and reports it started. */
  async function started(instanceId: string): Promise<void> {
    const id = randomUUID();
    const requested = createMessage(
      InstanceRequested,
      { instanceId, space: 'acme', app: 'web', version: 1, clusterId: h.clusterId, replaces: null },
      { messageId: id, correlationId: id, actor: { kind: 'service', id: 'scheduler' } },
      at(0),
    );
    await h.store.append(INSTANCE, instanceId, [requested], 0);
    await report(
      instanceId,
      InstanceStarted,
      { containerId: 'c1', host: '127.0.0.1', hostPorts: [], restarts: 0 },
      at(1),
    );
  }

  const lastProbe = async (instanceId: string) => {
    const { items } = await h.rpc.call(
      ListInstances,
      { space: 'acme', app: 'web', includeStopped: true },
      caller,
    );
    const instance = items.find((i) => i.id === instanceId);
    expect(instance).toBeDefined();
    return instance!.lastProbe;
  };
  /** Waits until the app's feed shows the instance's `summary`, i.e. the projection applied that event. */
  const applied = (instanceId: string, summary: string) =>
    expectEventually(
      async () => {
        const { items } = await h.rpc.call(ListAppEvents, { space: 'acme', app: 'web' }, caller);
        expect(items.map((e) => e.summary)).toContain(`instance ${instanceId.slice(0, 8)} ${summary}`);
      },
      { what: `the feed shows "${summary}"` },
    );

  it('adds the nullable probe columns to instances', async () => {
    const columns = await queryDatabase(
      h.url,
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'instances' AND column_name LIKE 'probe_%' ORDER BY column_name`,
      [h.prefix],
    );
    expect(columns).toEqual([
      { column_name: 'probe_at', data_type: 'timestamp with time zone', is_nullable: 'YES' },
      { column_name: 'probe_detail', data_type: 'text', is_nullable: 'YES' },
      { column_name: 'probe_kind', data_type: 'text', is_nullable: 'YES' },
      { column_name: 'probe_ok', data_type: 'boolean', is_nullable: 'YES' },
    ]);
  });

  it('shows the probe of the latest transition that carried one, and keeps it through those that do not', async () => {
    const id = randomUUID();
    const readinessFailed: ProbeResult = {
      kind: 'readiness',
      ok: false,
      detail: 'exec ["cat","/tmp/ready"]: exit code 1',
    };
    const readinessPassed: ProbeResult = {
      kind: 'readiness',
      ok: true,
      detail: 'GET http://127.0.0.1:40000/healthz: HTTP 200',
    };
    const livenessFailed: ProbeResult = {
      kind: 'liveness',
      ok: false,
      detail: 'GET http://127.0.0.1:40000/live: HTTP 500',
    };

    await started(id);
    await applied(id, 'started');
    expect(await lastProbe(id)).toBeNull();

    await report(
      id,
      InstanceNotReady,
      { reason: 'readiness probe failed: x', probe: readinessFailed },
      at(2),
    );
    await expectEventually(async () =>
      expect(await lastProbe(id)).toEqual({ ...readinessFailed, at: at(2) }),
    );

    await report(id, InstanceReady, { probe: readinessPassed }, at(3));
    await expectEventually(async () =>
      expect(await lastProbe(id)).toEqual({ ...readinessPassed, at: at(3) }),
    );

    // A liveness restart: out of rotation, then the exit, both saying which probe failed.
    const reason = `liveness probe failed: ${livenessFailed.detail}`;
    await report(id, InstanceNotReady, { reason: `restarting: ${reason}`, probe: livenessFailed }, at(4));
    await report(
      id,
      InstanceExited,
      { exitCode: 137, oomKilled: false, reason, restartInMs: 200, probe: livenessFailed },
      at(5),
    );
    await expectEventually(async () => expect(await lastProbe(id)).toEqual({ ...livenessFailed, at: at(5) }));

    // Transitions no probe caused leave the last result as it was.
    await report(
      id,
      InstanceStarted,
      { containerId: 'c2', host: '127.0.0.1', hostPorts: [], restarts: 1 },
      at(6),
    );
    await report(id, InstanceReady, {}, at(7));
    await report(id, InstanceNotReady, { reason: 'stopping: scale-down' }, at(8));
    await report(
      id,
      InstanceExited,
      { exitCode: 0, oomKilled: false, reason: 'exited with code 0', restartInMs: null },
      at(9),
    );
    await applied(id, 'exited: exited with code 0 (exit code 0)');
    expect(await lastProbe(id)).toEqual({ ...livenessFailed, at: at(5) });
  });

  it('shows no probe for an instance whose transitions never carried one (events of the older shape)', async () => {
    const id = randomUUID();
    await started(id);
    await report(id, InstanceReady, {}, at(2));
    await report(id, InstanceNotReady, { reason: 'readiness probe failed: HTTP 500' }, at(3));
    await report(
      id,
      InstanceExited,
      { exitCode: 1, oomKilled: false, reason: 'exited with code 1', restartInMs: 200 },
      at(4),
    );
    await applied(id, 'exited: exited with code 1 (exit code 1); restarting in 0 s');
    expect(await lastProbe(id)).toBeNull();
  });
});
