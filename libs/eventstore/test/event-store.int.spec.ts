import { type NatsConnection } from '@nats-io/transport-node';
import { PierError, subjectsFor } from '@pier/contracts';
import { connectTestNats, deleteStreams, expectEventually, uniqueName } from '@pier/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { DLQ_HEADERS, DurableConsumer, EventSourcedRepository, EventStore, execute } from '../src';
import { catalog, type Incremented, incremented } from './test-events';

describe('EventStore on JetStream', () => {
  const prefix = uniqueName('eventstore');
  const subjects = subjectsFor(prefix);
  let nc: NatsConnection;
  let store: EventStore<Incremented>;

  beforeAll(async () => {
    nc = await connectTestNats();
    store = await EventStore.open(nc, subjects, catalog);
  });

  afterAll(async () => {
    await deleteStreams(nc, prefix);
    await nc.close();
  });

  it('appends and loads an aggregate in order, with its version', async () => {
    const first = await store.append('counter', 'a', [incremented('a', 1), incremented('a', 2)], 0);
    const second = await store.append('counter', 'a', [incremented('a', 3)], first.version);
    await store.append('counter', 'other', [incremented('other', 9)], 0);

    const loaded = await store.load('counter', 'a');
    expect(loaded.events.map((e) => e.event.data.by)).toEqual([1, 2, 3]);
    expect(loaded.version).toBe(second.version);
    expect(loaded.events.every((e) => e.aggregateType === 'counter' && e.aggregateId === 'a')).toBe(true);
    expect(await store.load('counter', 'missing')).toEqual({ events: [], version: 0 });
  });

  it('lets exactly one of two concurrent appends at the same expected version win', async () => {
    const { version } = await store.append('counter', 'race', [incremented('race')], 0);
    const results = await Promise.allSettled([
      store.append('counter', 'race', [incremented('race', 10)], version),
      store.append('counter', 'race', [incremented('race', 20)], version),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(PierError);
    expect((lost[0]!.reason as PierError).code).toBe('CONCURRENCY_CONFLICT');
    expect((await store.load('counter', 'race')).events).toHaveLength(2);
  });

  it('appends to many aggregates in flight at once, each at its own expected version, each failing alone', async () => {
    const { version: stale } = await store.append('counter', 'all-0', [incremented('all-0', 1)], 0);
    await store.append('counter', 'all-0', [incremented('all-0', 2)], stale);
    const ids = Array.from({ length: 40 }, (_, i) => `all-${i}`);
    let inFlight = 0;
    let mostInFlight = 0;
    const publish = store.js.publish.bind(store.js);
    const spy = jest.spyOn(store.js, 'publish').mockImplementation(async (...args) => {
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      try {
        return await publish(...args);
      } finally {
        inFlight--;
      }
    });
    try {
      const outcomes = await store.appendAll(
        ids.map((id, i) => ({
          aggregateType: 'counter',
          aggregateId: id,
          events: [incremented(id, i)],
          // all-0 has moved on since `stale`; every other counter is new.
          expectedVersion: i === 0 ? stale : 0,
        })),
        16,
      );
      expect(outcomes[0]).toMatchObject({ status: 'rejected', reason: { code: 'CONCURRENCY_CONFLICT' } });
      const rest = outcomes.slice(1);
      expect(rest.every((o) => o.status === 'fulfilled')).toBe(true);
      for (const [i, o] of rest.entries()) {
        expect((o as PromiseFulfilledResult<{ version: number }>).value.version).toBe(
          await store.version('counter', ids[i + 1]!),
        );
      }
      expect(mostInFlight).toBe(16);
    } finally {
      spy.mockRestore();
    }
    expect((await store.load('counter', 'all-0')).events.map((e) => e.event.data.by)).toEqual([1, 2]);
  });

  it('reads the last event of an aggregate with its position, and nothing for one without events', async () => {
    await store.append('counter', 'last', [incremented('last', 1)], 0);
    const { version } = await store.append('counter', 'last', [incremented('last', 2)], 'any');
    await store.append('counter', 'last-other', [incremented('last-other', 3)], 0);
    const last = await store.lastEvent('counter', 'last');
    expect(last).toMatchObject({ aggregateType: 'counter', aggregateId: 'last', position: version });
    expect(last!.event.data.by).toBe(2);
    expect(await store.lastEvent('counter', 'never')).toBeUndefined();
  });

  it('rejects creating an aggregate that already exists', async () => {
    await store.append('counter', 'once', [incremented('once')], 0);
    await expect(store.append('counter', 'once', [incremented('once')], 0)).rejects.toMatchObject({
      code: 'CONCURRENCY_CONFLICT',
    });
  });

  it('drops a repeated message id instead of storing it twice', async () => {
    const event = incremented('dedupe', 5, 'fixed-message-id');
    const first = await store.append('counter', 'dedupe', [event], 0);
    const again = await store.append('counter', 'dedupe', [event], 0);
    expect(again.version).toBe(first.version);
    expect((await store.load('counter', 'dedupe')).events).toHaveLength(1);
  });

  it('moves a message that always fails to the dead-letter stream with its error, then goes on', async () => {
    const seen: number[] = [];
    const attempts = new Map<number, number>();
    const consumer = new DurableConsumer(store, {
      name: 'always-fails',
      filterSubject: subjects.aggregate('counter', 'poison'),
      maxAttempts: 3,
      backoffMs: () => 10,
      handler: async ({ event, position }) => {
        attempts.set(position, (attempts.get(position) ?? 0) + 1);
        if (event.data.by === 13) throw new Error('thirteen is unlucky');
        seen.push(event.data.by);
      },
    });
    const { positions } = await store.append(
      'counter',
      'poison',
      [incremented('poison', 13), incremented('poison', 14)],
      0,
    );
    await consumer.start();
    try {
      await expectEventually(() => expect(seen).toEqual([14]));
      expect(attempts.get(positions[0]!)).toBe(3);

      const jsm = await jetstreamManager(nc);
      const dead = await jsm.streams.getMessage(subjects.deadLetterStream, {
        last_by_subj: subjects.deadLetter('always-fails'),
      });
      expect(dead).not.toBeNull();
      expect(dead!.header.get(DLQ_HEADERS.error)).toBe('Error: thirteen is unlucky');
      expect(dead!.header.get(DLQ_HEADERS.position)).toBe(String(positions[0]));
      expect(dead!.header.get(DLQ_HEADERS.attempts)).toBe('3');
      expect(catalog.parse(dead!.json()).data).toEqual({ counterId: 'poison', by: 13 });
    } finally {
      await consumer.stop();
    }
  });

  it('retries a failing handler with back-off and succeeds without dead-lettering', async () => {
    let calls = 0;
    const consumer = new DurableConsumer(store, {
      name: 'flaky',
      filterSubject: subjects.aggregate('counter', 'flaky'),
      maxAttempts: 5,
      backoffMs: () => 10,
      handler: async () => {
        calls++;
        if (calls < 3) throw new Error('not yet');
      },
    });
    await store.append('counter', 'flaky', [incremented('flaky')], 0);
    await consumer.start();
    try {
      await expectEventually(() => expect(calls).toBe(3));
      const jsm = await jetstreamManager(nc);
      expect(
        await jsm.streams.getMessage(subjects.deadLetterStream, {
          last_by_subj: subjects.deadLetter('flaky'),
        }),
      ).toBeNull();
    } finally {
      await consumer.stop();
    }
  });

  it('hands the next message to a consumer started after a stop within seconds, not after the 30 s ack wait', async () => {
    // The first consumer stops while handling the first message: the server delivers the second as the
    // first is acked, to a client that no longer reads. Its successor (same durable) must get it soon.
    const seen: number[] = [];
    let stopping: Promise<void> | undefined;
    const filterSubject = subjects.aggregate('counter', 'handover');
    await store.append('counter', 'handover', [incremented('handover', 1), incremented('handover', 2)], 0);
    const first: DurableConsumer<Incremented> = new DurableConsumer(store, {
      name: 'handover',
      filterSubject,
      handler: async (stored) => {
        seen.push(stored.event.data.by);
        stopping ??= first.stop();
      },
    });
    await first.start();
    await expectEventually(() => expect(seen).toEqual([1]));
    await stopping;
    const successor = new DurableConsumer(store, {
      name: 'handover',
      filterSubject,
      handler: async (stored) => void seen.push(stored.event.data.by),
    });
    const began = Date.now();
    await successor.start();
    try {
      await expectEventually(() => expect(seen).toEqual([1, 2]), { timeoutMs: 15_000, intervalMs: 100 });
      expect(Date.now() - began).toBeLessThan(8000);
    } finally {
      await successor.stop();
    }
  });

  it('keeps folded states when asked: a load reads only newer events, and sees what other writers appended', async () => {
    const evolve = (state: number | null, event: Incremented) => (state ?? 0) + event.data.by;
    const cached = new EventSourcedRepository<number, Incremented>(store, 'counter', evolve, {
      cacheSize: 2,
    });
    const plain = new EventSourcedRepository<number, Incremented>(store, 'counter', evolve);
    await execute(cached, 'kept', () => [incremented('kept', 2)], evolve);
    await execute(plain, 'kept', () => [incremented('kept', 3)], evolve);
    const reads = jest.spyOn(store, 'load');
    try {
      const before = (await plain.load('kept')).version;
      expect(await cached.load('kept')).toEqual({ state: 5, version: before });
      // Only the event the other writer added was read, not the whole history.
      expect(reads).toHaveBeenLastCalledWith('counter', 'kept', expect.any(Number));
      const after = reads.mock.calls.at(-1)![2]!;
      expect(after).toBeGreaterThan(0);
      expect(after).toBeLessThan(before);

      await execute(cached, 'kept', (s) => [incremented('kept', s!)], evolve);
      expect((await plain.load('kept')).state).toBe(10);
      expect(await cached.load('kept')).toEqual(await plain.load('kept'));
      // More aggregates than the cache holds: the least recently used is dropped and folded again.
      for (const id of ['kept-2', 'kept-3', 'kept-4']) {
        await execute(cached, id, () => [incremented(id, 1)], evolve);
      }
      expect(await cached.load('kept')).toEqual(await plain.load('kept'));
    } finally {
      reads.mockRestore();
    }
  });

  it('decides on a kept state without asking the store, and again on a fresh load when another writer came first', async () => {
    const evolve = (state: number | null, event: Incremented) => (state ?? 0) + event.data.by;
    const kept = new EventSourcedRepository<number, Incremented>(store, 'counter', evolve, { cacheSize: 10 });
    const other = new EventSourcedRepository<number, Incremented>(store, 'counter', evolve);
    await execute(kept, 'opt', () => [incremented('opt', 1)], evolve);
    const versions = jest.spyOn(store, 'version');
    try {
      // Nothing came in between: appended at the kept version, the store never asked.
      await execute(kept, 'opt', (s) => [incremented('opt', s!)], evolve);
      expect(versions).not.toHaveBeenCalled();
      expect((await other.load('opt')).state).toBe(2);

      // Another writer appended: the append at the kept version is refused, then decided on the latest.
      await execute(other, 'opt', () => [incremented('opt', 10)], evolve);
      const seen: (number | null)[] = [];
      await execute(kept, 'opt', (s) => (seen.push(s), [incremented('opt', 100)]), evolve);
      expect(seen).toEqual([2, 12]);
      expect((await other.load('opt')).state).toBe(112);

      // A kept state that says "nothing to do", or refuses, is not trusted either.
      await execute(other, 'opt', () => [incremented('opt', 1)], evolve);
      const idle = await execute(kept, 'opt', (s) => (s === 112 ? [] : []), evolve);
      expect(idle).toMatchObject({ state: 113, events: [] });
      await execute(other, 'opt', () => [incremented('opt', 1)], evolve);
      const refusals: (number | null)[] = [];
      const result = await execute(
        kept,
        'opt',
        (s) => {
          refusals.push(s);
          if (s === 113) throw new Error('stale refusal');
          return [incremented('opt', 1)];
        },
        evolve,
      );
      expect(refusals).toEqual([113, 114]);
      expect(result.state).toBe(115);
    } finally {
      versions.mockRestore();
    }
  });
});
