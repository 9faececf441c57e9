import { randomUUID } from 'node:crypto';
import {
  createMessage,
  INSTANCE,
  InstanceExited,
  InstanceNotReady,
  InstanceReady,
  InstanceRequested,
  InstanceStarted,
  InstanceStopRequested,
  type MessageDefinition,
  type PierEvent,
  subjectsFor,
} from '@pier/contracts';
import { createServiceDataSource, openDataSource } from '@pier/persistence';
import { dropSchema, ensureTestDatabase, uniqueName } from '@pier/testing';
import { type DataSource } from 'typeorm';
import { type z } from 'zod';
import { schedulerMigrations } from '../src/infrastructure/postgres/migrations';
import { instancesProjection } from '../src/infrastructure/postgres/runtime.projection';

/**
 * The app's feed says when the router's panic threshold holds a version (issue 10): derived by the
 * instances projection from the instance events it applies, against a real Postgres schema.
 */
describe('runtime projection: the router panic in the app feed (real Postgres)', () => {
  const schema = uniqueName('panic_feed');
  const projection = instancesProjection(subjectsFor(schema));
  const cluster = randomUUID();
  let url: string;
  let db: DataSource;
  let position = 0;
  const history: { event: PierEvent; position: number }[] = [];

  beforeAll(async () => {
    url = await ensureTestDatabase();
    db = await openDataSource(
      createServiceDataSource({
        url,
        schema,
        entities: [],
        migrations: schedulerMigrations,
        applicationName: 'panic-feed-test',
        poolSize: 2,
      }),
    );
  });

  afterAll(async () => {
    await db?.destroy();
    await dropSchema(url, schema);
  });

  function event<D extends MessageDefinition>(definition: D, data: z.input<D['schema']>): PierEvent {
    const id = randomUUID();
    return createMessage(
      definition,
      data,
      { messageId: id, correlationId: id, actor: { kind: 'node', id: cluster } },
      new Date().toISOString(),
    ) as unknown as PierEvent;
  }

  async function apply(...events: PierEvent[]): Promise<void> {
    for (const e of events) {
      const stored = { event: e, position: ++position };
      history.push(stored);
      await db.transaction((m) =>
        projection.apply({ ...stored, aggregateType: INSTANCE, aggregateId: randomUUID() }, m),
      );
    }
  }

  const requested = (id: string, version = 1) =>
    event(InstanceRequested, {
      instanceId: id,
      space: 'acme',
      app: 'web',
      version,
      clusterId: cluster,
      replaces: null,
    });
  const started = (id: string, port: number, protocol: 'http' | 'tcp' = 'http') =>
    event(InstanceStarted, {
      instanceId: id,
      containerId: `c-${id.slice(0, 8)}`,
      host: '127.0.0.1',
      hostPorts: [{ containerPort: 8080, protocol, hostPort: port }],
      restarts: 0,
    });
  const ready = (id: string) => event(InstanceReady, { instanceId: id });
  const notReady = (id: string) =>
    event(InstanceNotReady, { instanceId: id, reason: 'readiness probe failed: timed out after 1000 ms' });

  const feed = async (): Promise<string[]> =>
    (await db.query('SELECT summary FROM app_events ORDER BY position')).map(
      (r: { summary: string }) => r.summary,
    );
  const panicLines = async () => (await feed()).filter((s) => s.includes('router:'));

  it('says when the last ready instance of a version fails readiness while others that had been ready run, and when one is ready again', async () => {
    const [a, b, fresh] = [randomUUID(), randomUUID(), randomUUID()];
    await apply(
      requested(a),
      started(a, 41001),
      ready(a),
      requested(b),
      started(b, 41002),
      ready(b),
      // A third instance that is still starting: never ready, never kept.
      requested(fresh),
      started(fresh, 41003),
    );
    // One of two ready instances fails: the other is in rotation, no panic.
    await apply(notReady(a));
    expect(await panicLines()).toEqual([]);
    await apply(notReady(b));
    expect(await panicLines()).toEqual([
      `instance ${b.slice(0, 8)} not ready: readiness probe failed: timed out after 1000 ms; router: version 1 ` +
        'has no ready instance; keeps sending to its 2 running instances that had been ready (panic)',
    ]);
    // The starting instance failing its probe changes nothing.
    await apply(notReady(fresh));
    expect(await panicLines()).toHaveLength(1);
    await apply(ready(a));
    expect((await panicLines())[1]).toBe(
      `instance ${a.slice(0, 8)} ready; router: version 1 has a ready instance again (panic over)`,
    );
  });

  it('ends the panic when no instance that had been ready runs any more, and never panics for instances that never were ready', async () => {
    const before = (await panicLines()).length;
    const [c, d] = [randomUUID(), randomUUID()];
    await apply(requested(c, 2), started(c, 42001), requested(d, 2), started(d, 42002), notReady(d));
    expect(await panicLines()).toHaveLength(before);
    await apply(ready(c), notReady(c));
    expect((await panicLines()).slice(before)).toEqual([
      expect.stringMatching(
        /router: version 2 has no ready instance; keeps sending to its 1 running instance that/,
      ),
    ]);
    await apply(
      event(InstanceExited, {
        instanceId: c,
        exitCode: 1,
        oomKilled: false,
        reason: 'exited',
        restartInMs: 1000,
      }),
    );
    expect((await panicLines()).slice(before + 1)).toEqual([
      expect.stringMatching(
        /^instance \w{8} exited: .*; router: version 2 has no running instance that had been ready left \(panic over\)$/,
      ),
    ]);
  });

  it('leaves versions without an HTTP port and stopping instances out of it', async () => {
    const before = (await panicLines()).length;
    const [e, f] = [randomUUID(), randomUUID()];
    await apply(requested(e, 3), started(e, 43001, 'tcp'), ready(e), notReady(e));
    await apply(requested(f, 4), started(f, 44001), ready(f));
    await apply(event(InstanceStopRequested, { instanceId: f, reason: 'scale-down' }), notReady(f));
    expect((await panicLines()).length).toBe(before);
  });

  it('writes the same lines when the feed is rebuilt from the events', async () => {
    const first = await feed();
    await db.transaction(async (m) => {
      await m.query('DELETE FROM instances');
      await projection.clear!(m);
    });
    for (const stored of history) {
      await db.transaction((m) =>
        projection.apply({ ...stored, aggregateType: INSTANCE, aggregateId: randomUUID() }, m),
      );
    }
    expect(await feed()).toEqual(first);
  });
});
