import { randomUUID } from 'node:crypto';
import { type NatsConnection } from '@nats-io/transport-node';
import {
  CLUSTER,
  ClusterCreated,
  createMessage,
  type PierEvent,
  pierEvents,
  type Subjects,
  subjectsFor,
} from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { createLogger } from '@pier/observability';
import {
  connectTestNats,
  deleteStreams,
  dropSchema,
  ensureTestDatabase,
  expectEventually,
  queryDatabase,
  testEnv,
  uniqueName,
} from '@pier/testing';
import { type DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import {
  createServiceDataSource,
  openDataSource,
  type Projection,
  ProjectionCheckpoints1764000000000,
  ProjectionRunner,
  rebuildProjections,
} from '../src';

class Clusters1764000000001 implements MigrationInterface {
  async up(q: QueryRunner) {
    await q.query('CREATE TABLE clusters (position bigint PRIMARY KEY, name text NOT NULL)');
  }
  async down(q: QueryRunner) {
    await q.query('DROP TABLE clusters');
  }
}
const migrations = [ProjectionCheckpoints1764000000000, Clusters1764000000001];

/** One row per cluster created; a little slow, so that a replay of a few hundred lasts seconds. */
const clustersProjection = (subjects: Subjects): Projection<PierEvent> => ({
  name: 'test-clusters',
  filterSubject: subjects.aggregateType(CLUSTER),
  tables: ['clusters'],
  async apply({ event, position }, m) {
    if (event.type !== 'ClusterCreated') return;
    await new Promise((r) => setTimeout(r, 5));
    await m.query('INSERT INTO clusters (position, name) VALUES ($1, $2)', [position, event.data.name]);
  },
});

/**
 * `rebuildProjections` into another schema while the service's own projection runs on its durable
 * consumer (the consumer's name is the projection's): neither takes events from the other.
 */
describe('rebuildProjections (real NATS and Postgres)', () => {
  const prefix = uniqueName('rebuild');
  const rebuilt = `${prefix}_rebuilt`;
  let url: string;
  let nc: NatsConnection;
  let store: EventStore<PierEvent>;
  let db: DataSource;
  let live: ProjectionRunner<PierEvent>;

  beforeAll(async () => {
    url = await ensureTestDatabase();
    nc = await connectTestNats();
    store = await EventStore.open(nc, subjectsFor(prefix), pierEvents);
    db = await openDataSource(
      createServiceDataSource({ url, schema: prefix, entities: [], migrations, applicationName: 'test' }),
    );
    live = new ProjectionRunner(store, db, clustersProjection(store.subjects));
    await live.start();
  });

  afterAll(async () => {
    await live.stop();
    await db.destroy();
    await dropSchema(url, prefix);
    await dropSchema(url, rebuilt);
    await deleteStreams(nc, prefix);
    await nc.close();
  });

  let created = 0;
  const createClusters = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const clusterId = randomUUID();
      const id = randomUUID();
      await store.append(
        CLUSTER,
        clusterId,
        [
          createMessage(
            ClusterCreated,
            { clusterId, name: `c${created++}`, description: '' },
            { messageId: id, correlationId: id, actor: { kind: 'system', id: 'test' } },
            new Date().toISOString(),
          ),
        ],
        0,
      );
    }
  };
  const names = async (schema: string) =>
    (
      await queryDatabase<{ name: string }>(url, `SELECT name FROM "${schema}".clusters ORDER BY position`)
    ).map((r) => r.name);

  it('replays every event into a fresh schema while the live projection keeps every event too', async () => {
    await createClusters(300);
    await live.waitUntilCaughtUp(30_000);
    const rebuilding = rebuildProjections({
      service: 'test',
      natsUrl: testEnv.PIER_TEST_NATS_URL,
      prefix,
      streamReplicas: 1,
      database: { url, schema: rebuilt, entities: [], migrations },
      projections: (subjects) => [clustersProjection(subjects)],
      logger: createLogger('rebuild', 'silent'),
    });
    // Clusters created while the replay runs, one every 100 ms: past the second the live projection's
    // consumer needs to come back after the rebuild deleted it.
    const during = (async () => {
      for (let i = 0; i < 20; i++) {
        await createClusters(1);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await Promise.all([rebuilding, during]);

    const all = Array.from({ length: created }, (_, n) => `c${n}`);
    await expectEventually(async () => expect(await names(prefix)).toEqual(all), {
      timeoutMs: 20_000,
      what: 'the live read model with every cluster',
    });
    // The replay ends where the stream was when it began waiting: a prefix of the stream, with no gap.
    const replayed = await names(rebuilt);
    expect(replayed.length).toBeGreaterThanOrEqual(300);
    expect(replayed).toEqual(all.slice(0, replayed.length));
  }, 60_000);
});
