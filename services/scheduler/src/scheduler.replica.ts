import { watchConnection } from '@pier/messaging';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { type PierEvent } from '@pier/contracts';
import { type EventStore } from '@pier/eventstore';
import { type Logger } from '@pier/observability';
import { Reconciler } from './application/reconciler';
import { type Leadership, SchedulerLoop } from './application/scheduler.loop';
import { SchedulerLease } from './application/scheduler-lease';
import { type World } from './application/world';
import { type PlanOptions } from './domain/scheduling/planner';
import { followWorld } from './infrastructure/nats/world.feed';

/** The lease subject's id: one scheduler group per installation (its stream prefix). */
export const SCHEDULER_GROUP = 'scheduler';

export interface SchedulerReplicaParts {
  readonly store: EventStore<PierEvent>;
  readonly world: World;
  readonly leadership: Leadership;
  readonly intervalMs: number;
  /** How plans are made; rebalancing is on unless told otherwise. */
  readonly plan?: PlanOptions;
  readonly logger: Logger;
  /** Names this replica in the lease journal; by default host, process and a random suffix. */
  readonly holder?: string;
}

/**
 * One scheduler replica's writer: the world followed from the event store, the election, the lease,
 * the reconciler and its loop, standing down while NATS is unreachable. Several replicas may run;
 * one leads at a time and only the lease holder's decisions are ever recorded (ADR 0007).
 */
export async function startSchedulerReplica(
  parts: SchedulerReplicaParts,
): Promise<{ readonly loop: SchedulerLoop; stop(): Promise<void> }> {
  const { store, world, logger } = parts;
  const holder = parts.holder ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  const lease = new SchedulerLease(store, SCHEDULER_GROUP, holder);
  const reconciler = new Reconciler(store, world, lease, logger, parts.plan);
  // Nothing is planned before the world has folded in everything stored up to now.
  reconciler.expectPosition(await store.lastPosition());
  const loop = new SchedulerLoop(reconciler, parts.leadership, lease, parts.intervalMs, logger);
  const feed = await followWorld(store, world, logger, () => loop.kick());
  watchConnection(
    store.connection,
    () => loop.suspend('NATS connection lost'),
    () => loop.resume(),
  );
  loop.start();
  return {
    loop,
    async stop() {
      await loop.stop();
      await feed.stop();
    },
  };
}
