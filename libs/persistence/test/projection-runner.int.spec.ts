import { jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection } from '@nats-io/transport-node';
import { createMessage, defineMessage, MessageCatalog, type MessageOf, subjectsFor } from '@pier/contracts';
import { DLQ_HEADERS, EventStore } from '@pier/eventstore';
import {
  connectTestNats,
  deleteStreams,
  dropSchema,
  ensureTestDatabase,
  expectEventually,
  rejectedCode,
  uniqueName,
} from '@pier/testing';
import { type DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { z } from 'zod';
import {
  createServiceDataSource,
  openDataSource,
  type Projection,
  ProjectionCheckpoints1764000000000,
  ProjectionRunner,
} from '../src';

const Deposited = defineMessage('Deposited', z.object({ account: z.string(), amount: z.number().int() }));
type Deposited = MessageOf<typeof Deposited>;
const catalog = new MessageCatalog<Deposited>([Deposited]);

class Balances1764000000001 implements MigrationInterface {
  async up(q: QueryRunner) {
    await q.query(
      'CREATE TABLE balances (account text PRIMARY KEY, total int NOT NULL, deposits int NOT NULL)',
    );
    await q.query('CREATE TABLE applications (position bigint PRIMARY KEY, times int NOT NULL)');
  }
  async down(q: QueryRunner) {
    await q.query('DROP TABLE balances, applications');
  }
}

/** A projection that also records how many times each event was applied. */
function balances(name: string, slow = 0): Projection<Deposited> {
  return {
    name,
    tables: ['balances', 'applications'],
    async apply({ event, position }, m) {
      if (slow) await new Promise((r) => setTimeout(r, slow));
      await m.query(
        `INSERT INTO balances (account, total, deposits) VALUES ($1, $2, 1)
         ON CONFLICT (account) DO UPDATE SET total = balances.total + $2, deposits = balances.deposits + 1`,
        [event.data.account, event.data.amount],
      );
      await m.query(
        `INSERT INTO applications (position, times) VALUES ($1, 1)
         ON CONFLICT (position) DO UPDATE SET times = applications.times + 1`,
        [position],
      );
    },
  };
}

let counter = 0;
const deposit = (account: string, amount: number): Deposited =>
  createMessage(
    Deposited,
    { account, amount },
    {
      messageId: `dep-${counter++}-${Date.now()}`,
      correlationId: 'c',
      actor: { kind: 'system', id: 'test' },
    },
    new Date().toISOString(),
  );

describe('ProjectionRunner', () => {
  const prefix = uniqueName('projection');
  let nc: NatsConnection;
  let store: EventStore<Deposited>;
  let db: DataSource;
  let url: string;

  beforeAll(async () => {
    url = await ensureTestDatabase();
    nc = await connectTestNats();
    store = await EventStore.open(nc, subjectsFor(prefix), catalog);
    db = await openDataSource(
      createServiceDataSource({
        url,
        schema: prefix,
        entities: [],
        migrations: [ProjectionCheckpoints1764000000000, Balances1764000000001],
        applicationName: 'test',
      }),
    );
  });

  afterAll(async () => {
    await db.destroy();
    await dropSchema(url, prefix);
    await deleteStreams(nc, prefix);
    await nc.close();
  });

  const rows = () => db.query('SELECT account, total, deposits FROM balances ORDER BY account');
  const applications = async () =>
    (await db.query('SELECT position, times FROM applications ORDER BY position')) as {
      position: string;
      times: number;
    }[];

  it('resumes from its checkpoint after a restart in the middle of the stream', async () => {
    const name = 'balances-restart';
    for (let i = 0; i < 5; i++) await store.append('account', 'alice', [deposit('alice', 1)], 'any');
    const first = new ProjectionRunner(store, db, balances(name, 100));
    await first.start();
    await expectEventually(async () => expect((await first.position()) > 0).toBe(true));
    await first.stop(); // stopped part-way: some of the five are applied, some not

    const applied = (await applications()).length;
    for (let i = 0; i < 5; i++) await store.append('account', 'alice', [deposit('alice', 1)], 'any');
    const second = new ProjectionRunner(store, db, balances(name));
    await second.start();
    await expectEventually(async () =>
      expect(await rows()).toEqual([{ account: 'alice', total: 10, deposits: 10 }]),
    );
    await second.stop();

    expect(applied).toBeGreaterThan(0);
    expect(applied).toBeLessThan(5);
    expect((await applications()).every((a) => a.times === 1)).toBe(true);
    await db.query('TRUNCATE balances, applications');
  });

  it('does not apply a redelivered event twice', async () => {
    // The handler takes longer than the ack wait, so JetStream delivers the same event again while the
    // first delivery is still in its transaction.
    const runner = new ProjectionRunner(
      store,
      db,
      { ...balances('balances-redelivery', 1500), filterSubject: store.subjects.aggregate('account', 'bob') },
      undefined,
      { ackWaitMs: 1000 },
    );
    const { version } = await store.append('account', 'bob', [deposit('bob', 7)], 0);
    await runner.start();
    try {
      await runner.waitFor(version);
      await expectEventually(() => expect(runner.skippedRedeliveries).toBeGreaterThanOrEqual(1), {
        timeoutMs: 15_000,
      });
      expect(await rows()).toEqual([{ account: 'bob', total: 7, deposits: 1 }]);
      expect(await applications()).toEqual([{ position: String(version), times: 1 }]);
    } finally {
      await runner.stop();
      await db.query('TRUNCATE balances, applications');
    }
  });

  it('rebuilds from the stream to exactly the read model it built live', async () => {
    const runner = new ProjectionRunner(store, db, balances('balances-rebuild'));
    await runner.start();
    for (let i = 0; i < 20; i++) {
      await store.append('account', `acct-${i % 4}`, [deposit(`acct-${i % 4}`, i)], 'any');
    }
    const last = await store.lastPosition();
    await runner.waitFor(last);
    const live = await rows();
    expect(live.length).toBeGreaterThanOrEqual(4);

    await db.query(`UPDATE balances SET total = -1`); // damage the read model; a rebuild must repair it
    await runner.rebuild();
    await runner.waitFor(last);
    expect(await rows()).toEqual(live);
    expect((await applications()).every((a) => a.times === 1)).toBe(true);
    await runner.stop();
  });

  it('does not let a checkpoint read that began before a rebuild count after it', async () => {
    // The waiters' poll reads the checkpoint; this read is held until the rebuild has emptied the model.
    let holdNext = false;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holds!: () => void;
    const holding = new Promise<void>((r) => (holds = r));
    class HeldRead extends ProjectionRunner<Deposited> {
      override async position(): Promise<number> {
        const position = await super.position();
        if (holdNext) {
          holdNext = false;
          holds();
          await held;
        }
        return position;
      }
    }
    const runner = new HeldRead(store, db, balances('balances-held-read'));
    await runner.start();
    try {
      for (let i = 0; i < 30; i++) {
        await store.append('account', `held-${i % 3}`, [deposit(`held-${i % 3}`, i)], 'any');
      }
      const last = await store.lastPosition();
      await runner.waitFor(last);
      // A waiter for the next event: its poll reads the checkpoint (`last`) and is held there, while the
      // event's own application wakes the waiter.
      holdNext = true;
      const next = runner.waitFor(last + 1);
      await store.append('account', 'held-0', [deposit('held-0', 1)], 'any');
      await next;
      await holding;
      await runner.rebuild();
      release(); // the held read returns `last`, read before the rebuild
      await new Promise((r) => setTimeout(r, 20));
      await runner.waitFor(last);
      // The replay has really reached `last`: the read model is not still empty or partial.
      expect(await runner.position()).toBeGreaterThanOrEqual(last);
    } finally {
      release();
      await runner.stop();
      await db.query('TRUNCATE balances, applications');
    }
  });

  it('clears on a rebuild the rows it owns in a shared table, and only those', async () => {
    // This projection owns `balances` and, in `applications`, the rows of positive positions; the row
    // at -1 stands for another projection's.
    const runner = new ProjectionRunner(store, db, {
      ...balances('balances-shared'),
      tables: ['balances'],
      clear: async (m) => void (await m.query('DELETE FROM applications WHERE position > 0')),
    });
    await runner.start();
    for (let i = 0; i < 5; i++) await store.append('account', 'shared', [deposit('shared', i)], 'any');
    await runner.waitFor(await store.lastPosition());
    await db.query('INSERT INTO applications (position, times) VALUES (-1, 7)');
    try {
      await runner.rebuild();
      await runner.waitFor(await store.lastPosition());
      const after = await applications();
      expect(after.filter((a) => Number(a.position) > 0).every((a) => a.times === 1)).toBe(true);
      expect(after).toContainEqual({ position: '-1', times: 7 });
    } finally {
      await db.query('DELETE FROM applications WHERE position = -1');
      await runner.stop();
    }
  });

  it('rebuilds by itself when the event stream was replaced under it', async () => {
    const runner = new ProjectionRunner(store, db, balances('balances-replaced'));
    await runner.start();
    await store.append('account', 'old', [deposit('old', 5)], 'any');
    await runner.waitFor(await store.lastPosition());
    await runner.stop();
    expect(await rows()).toContainEqual({ account: 'old', total: 5, deposits: 1 });

    await deleteStreams(nc, prefix); // a wiped NATS data directory
    store = await EventStore.open(nc, subjectsFor(prefix), catalog);
    await store.append('account', 'new', [deposit('new', 3)], 0);
    const again = new ProjectionRunner(store, db, balances('balances-replaced'));
    await again.start();
    await expectEventually(async () =>
      expect(await rows()).toEqual([{ account: 'new', total: 3, deposits: 1 }]),
    );
    await again.stop();
  });

  it('tells a caller waiting for a position it does not reach in time that its change is stored (DEADLINE_EXCEEDED)', async () => {
    const runner = new ProjectionRunner(store, db, balances('balances-deadline'), undefined, {
      batchSize: 8,
    });
    await runner.start();
    try {
      await runner.waitFor(await store.lastPosition());
      expect(await rejectedCode(runner.waitFor((await store.lastPosition()) + 1000, 300))).toBe(
        'DEADLINE_EXCEEDED',
      );
    } finally {
      await runner.stop();
    }
  });

  it('shares one checkpoint poll among every waiter, and wakes them on what another replica applied', async () => {
    const name = 'balances-shared-poll';
    const runner = new ProjectionRunner(store, db, balances(name), undefined, { batchSize: 8 });
    await runner.start();
    const reads = jest.spyOn(db, 'query');
    const checkpointReads = () =>
      reads.mock.calls.filter(([sql]) =>
        String(sql).startsWith('SELECT position FROM projection_checkpoints'),
      ).length;
    try {
      await runner.waitFor(await store.lastPosition());
      const before = checkpointReads();
      const far = (await store.lastPosition()) + 1000;
      const codes = await Promise.all(
        Array.from({ length: 200 }, () => rejectedCode(runner.waitFor(far, 1000))),
      );
      expect(new Set(codes)).toEqual(new Set(['DEADLINE_EXCEEDED']));
      // About one read per 200 ms round for all 200 waiters, not one per waiter per round.
      expect(checkpointReads() - before).toBeLessThanOrEqual(10);
      // Another replica's commit (here: the checkpoint moved under this runner) wakes a waiter by the poll.
      const waiting = runner.waitFor(far, 5_000);
      await db.query('UPDATE projection_checkpoints SET position = $2 WHERE name = $1', [name, far]);
      await waiting;
    } finally {
      reads.mockRestore();
      await runner.stop();
    }
  });

  it.each([1, 8])(
    'hands every committed event to onCommitted once, before a waiter for it wakes (batch size %d)',
    async (batchSize) => {
      const seen: string[] = [];
      const runner = new ProjectionRunner(store, db, balances(`balances-committed-${batchSize}`), undefined, {
        batchSize,
        onCommitted: (events) => seen.push(...events.map((e) => `committed ${e.position}`)),
      });
      await runner.start();
      try {
        await runner.waitFor(await store.lastPosition());
        seen.length = 0;
        const { version } = await store.append('account', `committed-${batchSize}`, [deposit('c', 1)], 'any');
        await runner.waitFor(version);
        seen.push(`woke ${version}`);
        expect(seen).toEqual([`committed ${version}`, `woke ${version}`]);
      } finally {
        await runner.stop();
      }
    },
  );

  describe('in batch mode', () => {
    const totals = (prefix: string, count: number, accounts: number) =>
      Array.from({ length: accounts }, (_, k) => {
        const amounts = Array.from({ length: count }, (_, i) => i).filter((i) => i % accounts === k);
        return {
          account: `${prefix}-${k}`,
          total: amounts.reduce((a, b) => a + b, 0),
          deposits: amounts.length,
        };
      });
    const ofPrefix = async (prefix: string) =>
      ((await rows()) as { account: string }[]).filter((r) => r.account.startsWith(`${prefix}-`));

    it('applies a backlog in batches, each event once, and retries a failed batch event by event', async () => {
      await db.query('TRUNCATE balances, applications');
      for (let i = 0; i < 60; i++) {
        await store.append('account', `batch-${i % 3}`, [deposit(`batch-${i % 3}`, i)], 'any');
      }
      const plain = balances('balances-batched');
      let failures = 1;
      const runner = new ProjectionRunner(
        store,
        db,
        {
          ...plain,
          async apply(stored, m) {
            if (stored.event.data.amount === 30 && failures-- > 0) throw new Error('a moment of trouble');
            await plain.apply(stored, m);
          },
        },
        undefined,
        { batchSize: 32, backoffMs: () => 10 },
      );
      await runner.start();
      try {
        await runner.waitFor(await store.lastPosition());
        expect(await ofPrefix('batch')).toEqual(totals('batch', 60, 3));
        // The batch that failed was rolled back and applied again: still every event exactly once.
        expect((await applications()).every((a) => a.times === 1)).toBe(true);
        expect(failures).toBeLessThan(0);
        // Live events after the backlog, and a restart that reads on from the checkpoint.
        await store.append('account', 'batch-0', [deposit('batch-0', 1000)], 'any');
        await runner.waitFor(await store.lastPosition());
        await runner.stop();
        await store.append('account', 'batch-1', [deposit('batch-1', 2000)], 'any');
        await runner.start();
        await runner.waitFor(await store.lastPosition());
        await runner.waitUntilCaughtUp(10_000);
        const after = await ofPrefix('batch');
        expect(after.map((r) => (r as unknown as { total: number }).total)).toEqual([
          totals('batch', 60, 3)[0]!.total + 1000,
          totals('batch', 60, 3)[1]!.total + 2000,
          totals('batch', 60, 3)[2]!.total,
        ]);
        expect((await applications()).every((a) => a.times === 1)).toBe(true);
      } finally {
        await runner.stop();
      }
    });

    it('dead-letters an event that always fails and applies the ones after it', async () => {
      const plain = balances('balances-batched-poison');
      const runner = new ProjectionRunner(
        store,
        db,
        {
          ...plain,
          async apply(stored, m) {
            if (stored.event.data.amount === 13) throw new Error('thirteen is unlucky');
            await plain.apply(stored, m);
          },
        },
        undefined,
        { batchSize: 16, backoffMs: () => 5, maxAttempts: 3 },
      );
      await db.query('TRUNCATE balances, applications');
      const { positions } = await store.append(
        'account',
        'poison-0',
        [12, 13, 14].map((amount) => deposit('poison-0', amount)),
        'any',
      );
      await runner.start();
      try {
        await runner.waitFor(positions[2]!);
        expect(await ofPrefix('poison')).toEqual([{ account: 'poison-0', total: 26, deposits: 2 }]);
        const jsm = await jetstreamManager(nc);
        const dead = await jsm.streams.getMessage(subjectsFor(prefix).deadLetterStream, {
          last_by_subj: subjectsFor(prefix).deadLetter('balances-batched-poison'),
        });
        expect(dead!.header.get(DLQ_HEADERS.position)).toBe(String(positions[1]));
      } finally {
        await runner.stop();
      }
    });

    it('parks an event whose data the read model refuses at once, without holding up the ones after it', async () => {
      const runner = new ProjectionRunner(store, db, balances('balances-batched-nul'), undefined, {
        batchSize: 16,
        // Retrying a poison event would hold every later event for well over the test's deadline.
        backoffMs: () => 10_000,
        maxAttempts: 5,
      });
      await db.query('TRUNCATE balances, applications');
      const { positions } = await store.append(
        'account',
        'nul-0',
        [deposit('nul-0', 1), deposit('nul-\u0000', 2), deposit('nul-0', 3)],
        'any',
      );
      await runner.start();
      try {
        const started = Date.now();
        await runner.waitFor(positions[2]!, 5_000);
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(await ofPrefix('nul')).toEqual([{ account: 'nul-0', total: 4, deposits: 2 }]);
        const jsm = await jetstreamManager(nc);
        const dead = await jsm.streams.getMessage(subjectsFor(prefix).deadLetterStream, {
          last_by_subj: subjectsFor(prefix).deadLetter('balances-batched-nul'),
        });
        expect(dead!.header.get(DLQ_HEADERS.position)).toBe(String(positions[1]));
      } finally {
        await runner.stop();
      }
    });

    it('lets two replicas run the same projection: every event applied once, in order', async () => {
      await db.query('TRUNCATE balances, applications');
      await db.query("UPDATE projection_checkpoints SET position = $1 WHERE name = 'balances-replicas'", [
        await store.lastPosition(),
      ]);
      const replicas = [1, 2].map(
        () => new ProjectionRunner(store, db, balances('balances-replicas'), undefined, { batchSize: 8 }),
      );
      await Promise.all(replicas.map((r) => r.start()));
      try {
        for (let i = 0; i < 50; i++) {
          await store.append('account', `replica-${i % 2}`, [deposit(`replica-${i % 2}`, i)], 'any');
        }
        const last = await store.lastPosition();
        await Promise.all(replicas.map((r) => r.waitFor(last)));
        expect(await ofPrefix('replica')).toEqual(totals('replica', 50, 2));
        expect((await applications()).every((a) => a.times === 1)).toBe(true);
      } finally {
        await Promise.all(replicas.map((r) => r.stop()));
      }
    });
  });
});
