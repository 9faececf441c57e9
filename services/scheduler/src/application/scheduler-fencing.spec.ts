import { randomUUID } from 'node:crypto';
import {
  AppCreated,
  appId,
  ClusterCreated,
  createMessage,
  INSTANCE,
  InstanceRequested,
  InstanceUnassigned,
  NODE_ASSIGNMENT,
  type PierEvent,
  PierError,
  type RecordedAction,
  SCHEDULER_LEASE,
  VersionCreated,
  VersionScaled,
  versionSpecSchema,
} from '@pier/contracts';
import { type EventStore, type StoredEvent } from '@pier/eventstore';
import { createLogger } from '@pier/observability';
import { joinNode } from '../../test/support/node-fixture';
import { plan } from '../domain/scheduling/planner';
import { Reconciler } from './reconciler';
import { type Leadership, SchedulerLoop } from './scheduler.loop';
import { LeaseLostError, SchedulerLease } from './scheduler-lease';
import { World } from './world';

const logger = createLogger('scheduler', 'silent');
const cause = () => {
  const id = randomUUID();
  return { messageId: id, correlationId: id, actor: { kind: 'system', id: 'test' } } as const;
};
const at = '2026-01-01T00:00:00.000Z';

/**
 * The event store's contract as far as fencing needs it: one version per subject, appends refused with
 * CONCURRENCY_CONFLICT at any other expected version.
 */
class MemoryStore {
  readonly stored: StoredEvent<PierEvent>[] = [];
  private readonly versions = new Map<string, number>();

  async append(type: string, id: string, events: readonly PierEvent[], expected: number | 'any') {
    const key = `${type}.${id}`;
    if (expected !== 'any' && (this.versions.get(key) ?? 0) !== expected)
      throw new PierError('CONCURRENCY_CONFLICT', `${key} was changed concurrently`);
    const positions = events.map((event) => {
      const position = this.stored.length + 1;
      this.stored.push({ event, aggregateType: type, aggregateId: id, position });
      this.versions.set(key, position);
      return position;
    });
    return { version: positions[positions.length - 1]!, positions };
  }

  async appendAll(
    requests: readonly {
      aggregateType: string;
      aggregateId: string;
      events: readonly PierEvent[];
      expectedVersion: number | 'any';
    }[],
  ) {
    return Promise.allSettled(
      requests.map((r) => this.append(r.aggregateType, r.aggregateId, r.events, r.expectedVersion)),
    );
  }

  async lastEvent(type: string, id: string) {
    const version = this.versions.get(`${type}.${id}`);
    return version ? this.stored[version - 1] : undefined;
  }

  async version(type: string, id: string) {
    return this.versions.get(`${type}.${id}`) ?? 0;
  }

  async lastPosition() {
    return this.stored.length;
  }

  /** Folds everything stored into a world, as the replica's feed would. */
  feed(world: World) {
    for (const s of this.stored.slice(world.position)) world.apply(s);
  }

  of(type: string) {
    return this.stored.filter((s) => s.aggregateType === type);
  }

  asStore() {
    return this as unknown as EventStore<PierEvent>;
  }
}

/** A cluster and an app `acme/web` whose version 1 wants `instances` instances. */
async function appWanting(store: MemoryStore, instances: number) {
  const clusterId = randomUUID();
  await store.append(
    'cluster',
    clusterId,
    [createMessage(ClusterCreated, { clusterId, name: 'main', description: '' }, cause(), at)],
    0,
  );
  const spec = versionSpecSchema.parse({ image: 'pier/busybox:latest', resources: { cpu: 10, memory: 16 } });
  await store.append(
    'app',
    appId('acme', 'web'),
    [
      createMessage(AppCreated, { space: 'acme', app: 'web', clusterId, defaultDomain: 'w' }, cause(), at),
      createMessage(VersionCreated, { space: 'acme', app: 'web', version: 1, spec }, cause(), at),
      createMessage(
        VersionScaled,
        { space: 'acme', app: 'web', version: 1, instances, reason: 'scale' },
        cause(),
        at,
      ),
    ],
    'any',
  );
  return clusterId;
}

describe('scheduler fencing', () => {
  describe('SchedulerLease', () => {
    it('takes the lease at the subject version it read, and records at the version its last append left', async () => {
      const store = new MemoryStore();
      const lease = new SchedulerLease(store.asStore(), 'g', 'a');
      const taken = await lease.take();
      expect(lease.held).toBe(true);
      const recorded = await lease.record([{ kind: 'complete-deletion', space: 'acme', app: 'web' }]);
      expect(recorded).toBeGreaterThan(taken);
      expect(
        store.of(SCHEDULER_LEASE).map((s) => [s.event.type, (s.event.data as { term: number }).term]),
      ).toEqual([
        ['SchedulerLeaseTaken', 1],
        ['SchedulerPlanRecorded', 1],
      ]);
    });

    it('once another replica took the lease, refuses to record, and appends nothing more after that', async () => {
      const store = new MemoryStore();
      const a = new SchedulerLease(store.asStore(), 'g', 'a');
      const b = new SchedulerLease(store.asStore(), 'g', 'b');
      await a.take();
      await b.take();
      const action: RecordedAction = { kind: 'complete-deletion', space: 'acme', app: 'web' };
      await expect(a.record([action])).rejects.toBeInstanceOf(LeaseLostError);
      expect(a.held).toBe(false);
      const before = store.stored.length;
      await expect(a.record([action])).rejects.toBeInstanceOf(LeaseLostError);
      expect(store.stored.length).toBe(before);
      // The taker of the next term records as usual.
      await b.record([action]);
      expect(
        store.of(SCHEDULER_LEASE).map((s) => [s.event.type, (s.event.data as { holder: string }).holder]),
      ).toEqual([
        ['SchedulerLeaseTaken', 'a'],
        ['SchedulerLeaseTaken', 'b'],
        ['SchedulerPlanRecorded', 'b'],
      ]);
    });

    it('splits a big plan into journal entries, each at the version the previous one left', async () => {
      const store = new MemoryStore();
      const lease = new SchedulerLease(store.asStore(), 'g', 'a');
      await lease.take();
      const actions: RecordedAction[] = Array.from({ length: 2500 }, () => ({
        kind: 'unschedulable',
        instanceId: randomUUID(),
        reason: 'none',
      }));
      await lease.record(actions);
      const entries = store.of(SCHEDULER_LEASE).filter((s) => s.event.type === 'SchedulerPlanRecorded');
      expect(entries.map((s) => (s.event.data as { actions: unknown[] }).actions.length)).toEqual([
        1000, 1000, 500,
      ]);
      expect(entries.map((s) => s.position)).toEqual(entries.map((_, i) => entries[0]!.position + i));
    });

    it('keeps a journal entry well below the largest message NATS takes, whatever its actions say', async () => {
      const store = new MemoryStore();
      const lease = new SchedulerLease(store.asStore(), 'g', 'a');
      await lease.take();
      const actions: RecordedAction[] = Array.from({ length: 1000 }, () => ({
        kind: 'unschedulable',
        instanceId: randomUUID(),
        reason: 'x'.repeat(1000),
      }));
      await lease.record(actions);
      const entries = store.of(SCHEDULER_LEASE).filter((s) => s.event.type === 'SchedulerPlanRecorded');
      expect(entries.length).toBeGreaterThan(1);
      for (const e of entries) expect(JSON.stringify(e.event).length).toBeLessThan(300 * 1024);
      expect(entries.flatMap((s) => (s.event.data as { actions: unknown[] }).actions)).toHaveLength(1000);
    });
  });

  describe('Reconciler', () => {
    it('with a lost lease, decides nothing: the record is refused and no instance is requested', async () => {
      const store = new MemoryStore();
      await appWanting(store, 2);
      const stale = new SchedulerLease(store.asStore(), 'g', 'stale');
      await stale.take();
      await new SchedulerLease(store.asStore(), 'g', 'new').take();
      const world = new World();
      store.feed(world);
      const reconciler = new Reconciler(store.asStore(), world, stale, logger);
      await expect(reconciler.tick()).rejects.toBeInstanceOf(LeaseLostError);
      expect(store.of(INSTANCE)).toEqual([]);
    });

    it('records the requests with their instance ids before appending them', async () => {
      const store = new MemoryStore();
      await appWanting(store, 2);
      const lease = new SchedulerLease(store.asStore(), 'g', 'a');
      await lease.take();
      const world = new World();
      store.feed(world);
      expect(await new Reconciler(store.asStore(), world, lease, logger).tick()).toBe(2);
      const types = store.stored.slice(-3).map((s) => s.event.type);
      expect(types).toEqual(['SchedulerPlanRecorded', 'InstanceRequested', 'InstanceRequested']);
      const recorded = store.of(SCHEDULER_LEASE).at(-1)!.event as RecordedPlan;
      const ids = recorded.data.actions.map((a) => ('instanceId' in a ? a.instanceId : null));
      expect(
        store
          .of(INSTANCE)
          .map((s) => s.aggregateId)
          .sort(),
      ).toEqual([...ids].sort());
    });

    it('counts what the previous leader recorded, and applies it once, with the recorded ids', async () => {
      const store = new MemoryStore();
      const clusterId = await appWanting(store, 3);
      const old = new SchedulerLease(store.asStore(), 'g', 'old');
      await old.take();
      const request = (): RecordedAction => ({
        kind: 'request',
        instanceId: randomUUID(),
        space: 'acme',
        app: 'web',
        version: 1,
        clusterId,
        replaces: null,
      });
      const recorded = [request(), request(), request()];
      await old.record(recorded);
      // The old leader applied one of the three before it was cut off.
      const first = recorded[0] as Extract<RecordedAction, { kind: 'request' }>;
      const { kind: _kind, ...data } = first;
      await store.append(
        INSTANCE,
        first.instanceId,
        [createMessage(InstanceRequested, data, cause(), at)],
        0,
      );

      const lease = new SchedulerLease(store.asStore(), 'g', 'new');
      await lease.take();
      const world = new World();
      store.feed(world);
      const reconciler = new Reconciler(store.asStore(), world, lease, logger);
      expect(await reconciler.tick()).toBe(2);
      store.feed(world);
      await reconciler.tick(); // the cluster has no node: marks the three unschedulable, nothing more
      const requested = store.of(INSTANCE).filter((s) => s.event.type === 'InstanceRequested');
      expect(requested.map((s) => s.aggregateId).sort()).toEqual(
        recorded.map((a) => (a as { instanceId: string }).instanceId).sort(),
      );
      // Nothing was requested again: the new leader's plan holds no request.
      const plans = store.of(SCHEDULER_LEASE).filter((s) => s.event.type === 'SchedulerPlanRecorded');
      const kinds = plans.flatMap((s) => (s.event as RecordedPlan).data.actions.map((a) => a.kind));
      expect(kinds).toEqual([
        'request',
        'request',
        'request',
        'unschedulable',
        'unschedulable',
        'unschedulable',
      ]);
    });
  });

  describe('Reconciler placements', () => {
    /** An app wanting `instances` on one node, its requests applied and folded: the next tick places. */
    async function requested(instances: number) {
      const store = new MemoryStore();
      const clusterId = await appWanting(store, instances);
      const nodeId = await joinNode(store.asStore(), clusterId, 'n1');
      const lease = new SchedulerLease(store.asStore(), 'g', 'a');
      await lease.take();
      const world = new World();
      store.feed(world);
      const reconciler = new Reconciler(store.asStore(), world, lease, logger);
      expect(await reconciler.tick()).toBe(instances);
      store.feed(world);
      return { store, nodeId, lease, world, reconciler };
    }
    const assignedIds = (store: MemoryStore) =>
      store
        .of(NODE_ASSIGNMENT)
        .flatMap((s) =>
          s.event.type === 'InstancesAssigned' ? s.event.data.assignments.map((a) => a.instanceId) : [],
        )
        .sort();
    const placedIds = (store: MemoryStore) =>
      store
        .of(INSTANCE)
        .filter((s) => s.event.type === 'InstancePlaced')
        .map((s) => s.aggregateId)
        .sort();

    it("assigns one plan's instances on a node with one event at the node's version, then places each", async () => {
      const { store, nodeId, world, reconciler } = await requested(3);
      expect(await reconciler.tick()).toBe(3);
      const node = store.of(NODE_ASSIGNMENT);
      expect(node.map((s) => s.event.type)).toEqual(['InstancesAssigned']);
      expect(node[0]!.aggregateId).toBe(nodeId);
      const ids = [...world.instances.keys()].sort();
      expect(assignedIds(store)).toEqual(ids);
      expect(placedIds(store)).toEqual(ids);
      store.feed(world);
      expect(world.pending()).toEqual([]);
      expect([...world.assigned.get(nodeId)!].sort()).toEqual(ids);
      expect(await reconciler.tick()).toBe(0);
    });

    it('assigns nothing to a node whose assignments changed since the world saw them, until it has seen them', async () => {
      const { store, nodeId, world, reconciler } = await requested(3);
      // Something the world has not folded yet lands on the node's subject.
      const gone = randomUUID();
      await store.append(
        NODE_ASSIGNMENT,
        nodeId,
        [createMessage(InstanceUnassigned, { nodeId, instanceId: gone, reason: 'scale-down' }, cause(), at)],
        'any',
      );
      expect(await reconciler.tick()).toBe(0);
      expect(assignedIds(store)).toEqual([]);
      expect(placedIds(store)).toEqual([]);
      // Once folded, the recorded placements are applied as they were decided, not planned again.
      store.feed(world);
      expect(await reconciler.tick()).toBe(3);
      expect(assignedIds(store)).toEqual([...world.instances.keys()].sort());
      const plans = store.of(SCHEDULER_LEASE).filter((s) => s.event.type === 'SchedulerPlanRecorded');
      const places = plans.flatMap((s) =>
        (s.event as RecordedPlan).data.actions.filter((a) => a.kind === 'place'),
      );
      expect(places).toHaveLength(3);
    });

    it('two leaders applying one recorded plan at once assign each instance once', async () => {
      const { store, lease, world } = await requested(3);
      const place = plan(world.snapshot(), { rebalance: true }).filter(
        (a): a is Extract<RecordedAction, { kind: 'place' }> => a.kind === 'place',
      );
      expect(place).toHaveLength(3);
      await lease.record(place); // the old leader is cut off right after recording its plan
      const next = new SchedulerLease(store.asStore(), 'g', 'b');
      await next.take();
      const [worldA, worldB] = [new World(), new World()];
      store.feed(worldA);
      store.feed(worldB);
      const old = new Reconciler(store.asStore(), worldA, lease, logger);
      const taker = new Reconciler(store.asStore(), worldB, next, logger);
      const applied = await Promise.all([old.tick(), taker.tick()]);
      expect(applied.sort()).toEqual([0, 3]);
      expect(store.of(NODE_ASSIGNMENT)).toHaveLength(1);
      expect(assignedIds(store)).toEqual([...world.instances.keys()].sort());
    });
  });

  describe('SchedulerLoop', () => {
    it('stands down at once when the lease is lost: releases the election and appends nothing more', async () => {
      const store = new MemoryStore();
      await appWanting(store, 1);
      const lease = new SchedulerLease(store.asStore(), 'g', 'a');
      const world = new World();
      const reconciler = new Reconciler(store.asStore(), world, lease, logger);
      let elected = true;
      const released: number[] = [];
      const leadership: Leadership = {
        acquire: async () => elected,
        release: async () => void released.push(released.length),
      };
      const loop = new SchedulerLoop(reconciler, leadership, lease, 60_000, logger);
      const pass = async () => {
        store.feed(world);
        loop.kick();
        await loop.idle();
      };
      await pass(); // takes the lease
      expect(loop.isLeading).toBe(true);
      // Another replica takes the lease; this one's election still says it leads.
      await new SchedulerLease(store.asStore(), 'g', 'b').take();
      const before = store.stored.length;
      await pass();
      expect(loop.isLeading).toBe(false);
      expect(released.length).toBe(1);
      expect(store.stored.length).toBe(before);
      elected = false;
      await pass();
      expect(store.stored.length).toBe(before);
      await loop.stop();
    });
  });
});

type RecordedPlan = Extract<PierEvent, { type: 'SchedulerPlanRecorded' }>;
