import { randomUUID } from 'node:crypto';
import {
  APP,
  appId,
  type Cause,
  createMessage,
  INSTANCE,
  InstancePlaced,
  InstanceRequested,
  InstancesAssigned,
  InstanceStopped,
  InstanceStopRequested,
  InstanceUnassigned,
  InstanceUnschedulable,
  NODE_ASSIGNMENT,
  type PierEvent,
  PierError,
  type RecordedAction,
  systemActor,
} from '@pier/contracts';
import { type EventStore, EventSourcedRepository, execute } from '@pier/eventstore';
import { type Logger } from '@pier/observability';
import { completeDeletion } from '../domain/app/app.decide';
import { type AppState, evolveApp } from '../domain/app/app.state';
import { isActive } from '../domain/instance/instance.state';
import { plan, type PlanOptions } from '../domain/scheduling/planner';
import { type SchedulerLease } from './scheduler-lease';
import { type World } from './world';

/**
 * How many lanes of a plan are applied at once (a lane costs one round trip, or a few): enough that a
 * plan's lanes are usually all in flight together, each round trip paid once per plan, not per window.
 */
const APPLY_CONCURRENCY = 1024;
/** At most this many assignments, and about this many bytes of them, in one `InstancesAssigned`. */
const ASSIGNMENTS_PER_EVENT = 500;
const ASSIGNMENT_BYTES_PER_EVENT = 256 * 1024;

type Recorded<K extends RecordedAction['kind']> = Extract<RecordedAction, { kind: K }>;
type Assignment = InstancesAssigned['data']['assignments'][number];
/** An action applied in a lane (requests are appended all at once instead). */
type LaneAction = Exclude<RecordedAction, { kind: 'request' }>;

/**
 * The single writer: computes a plan from the world, records it under the scheduler lease, then
 * applies it. It runs only on a world that has caught up with everything it wrote before, so it never
 * decides twice on the same gap; recording is refused once another replica has taken the lease
 * (`LeaseLostError`), so a replica that lost it decides nothing more. Every recorded action is applied
 * idempotently, by this replica or (after a crash or a lost lease) by the next leader: a request at
 * version 0 of its instance, a placement at the version of the node's assignment subject (so a stale
 * plan cannot over-commit a node either), a stop at the version of its instance. See ADR 0007.
 */
export class Reconciler {
  private appended = 0;
  private readonly apps: EventSourcedRepository<
    AppState,
    Extract<PierEvent, { type: `App${string}` | `Version${string}` | 'TrafficSet' }>,
    PierEvent
  >;

  constructor(
    private readonly store: EventStore<PierEvent>,
    private readonly world: World,
    private readonly lease: SchedulerLease,
    private readonly logger: Logger,
    private readonly planOptions: PlanOptions = { rebalance: true },
  ) {
    this.apps = new EventSourcedRepository(store, APP, evolveApp as never);
  }

  /** Plans wait until the world has folded in `position` (the stream's end when the service started). */
  expectPosition(position: number): void {
    this.note(position);
  }

  /** Whether the world has seen every event this reconciler wrote. */
  get caughtUp(): boolean {
    return this.world.position >= this.appended;
  }

  /**
   * One pass: first what was recorded and is not applied yet (left by a crash, a failed action or the
   * previous leader), else plan, record and apply. Returns how many actions were applied. Throws
   * `LeaseLostError` when another replica holds the lease.
   *
   * Requests are appended all at once, without waiting for one acknowledgement before the next. Actions
   * touching one node's assignment subject (placements on it, stops of its instances) form a lane: its
   * placements first, as one `InstancesAssigned` at the node's version as the world knows it, then their
   * `InstancePlaced` all at once, then its stops in plan order. Every other action is a lane of its own.
   * Up to `APPLY_CONCURRENCY` lanes are applied at once, so a big plan costs round trips per window of
   * lanes, not per action.
   */
  async tick(): Promise<number> {
    if (!this.caughtUp) return 0;
    const leftover = await this.applyAll(this.world.pending());
    // Its effects reach the world before the next plan; one that could not be applied is retried later
    // and must not keep the rest of the world from being planned.
    if (leftover > 0) return leftover;
    const actions: RecordedAction[] = [];
    for (const action of plan(this.world.snapshot(), this.planOptions)) {
      if (action.kind === 'request') actions.push({ ...action, instanceId: randomUUID() });
      // An instance that is only recorded is acted on once its request is applied, by a later plan.
      else if (!('instanceId' in action) || this.world.instances.has(action.instanceId)) actions.push(action);
    }
    if (actions.length === 0) return 0;
    this.note(await this.lease.record(actions));
    return this.applyAll(actions);
  }

  private async applyAll(actions: readonly RecordedAction[]): Promise<number> {
    const requests: Recorded<'request'>[] = [];
    const lanes = new Map<string, LaneAction[]>();
    for (const action of actions) {
      if (action.kind === 'request') {
        requests.push(action);
        continue;
      }
      const key = this.laneOf(action);
      const lane = lanes.get(key);
      if (lane) lane.push(action);
      else lanes.set(key, [action]);
    }
    let applied = 0;
    const queue = [...lanes.values()];
    /** `InstancePlaced` appends in flight: a lane does not wait for them before its stops. */
    const placing: Promise<number>[] = [];
    const worker = async () => {
      for (let lane = queue.shift(); lane; lane = queue.shift()) {
        const n = await this.applyLane(lane, placing); // not `applied += await …`: a stale sum
        applied += n;
      }
    };
    const [requested] = await Promise.all([
      this.request(requests),
      ...Array.from({ length: Math.min(APPLY_CONCURRENCY, queue.length) }, worker),
    ]);
    for (const placed of await Promise.all(placing)) applied += placed;
    return applied + requested;
  }

  private laneOf(action: LaneAction): string {
    switch (action.kind) {
      case 'place':
        return `node:${action.nodeId}`;
      case 'stop': {
        const nodeId = this.world.nodeOf(action.instanceId);
        return nodeId ? `node:${nodeId}` : `instance:${action.instanceId}`;
      }
      case 'unschedulable':
        return `instance:${action.instanceId}`;
      case 'complete-deletion':
        return `app:${appId(action.space, action.app)}`;
    }
  }

  private async applyLane(lane: readonly LaneAction[], placing: Promise<number>[]): Promise<number> {
    const placements = lane.filter((a): a is Recorded<'place'> => a.kind === 'place');
    let applied = 0;
    try {
      if (placements.length > 0) placing.push((await this.place(placements[0]!.nodeId, placements)).placed);
      for (const action of lane) {
        if (action.kind !== 'place' && (await this.apply(action))) applied++;
      }
    } catch (error) {
      // One failing action must not hold back the other lanes; the next pass retries from fresh
      // state. The rest of this lane waits for it: it was planned with it.
      this.logger.warn({ err: error, lane: lane.length, first: lane[0] }, 'scheduler action failed');
    }
    return applied;
  }

  /**
   * `InstanceRequested` at version 0 of each recorded instance id, all in flight at once; a conflict
   * means the instance exists (applied meanwhile by another replica: the previous leader finishing its
   * plan), which is done too.
   */
  private async request(requests: readonly Recorded<'request'>[]): Promise<number> {
    const todo = requests.filter((r) => !this.world.instances.has(r.instanceId));
    if (todo.length === 0) return 0;
    const cause = this.cause();
    const now = new Date().toISOString();
    const outcomes = await this.store.appendAll(
      todo.map(({ instanceId, space, app, version, clusterId, replaces }, i) => ({
        aggregateType: INSTANCE,
        aggregateId: instanceId,
        events: [
          createMessage(
            InstanceRequested,
            { instanceId, space, app, version, clusterId, replaces },
            cause,
            now,
            i,
          ),
        ],
        expectedVersion: 0,
      })),
    );
    let applied = 0;
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome.status === 'fulfilled') {
        this.note(outcome.value.version);
        applied++;
      } else if (!(outcome.reason instanceof PierError && outcome.reason.code === 'CONCURRENCY_CONFLICT')) {
        this.logger.warn({ err: outcome.reason, action: todo[i] }, 'scheduler action failed');
      }
    }
    return applied;
  }

  private cause(): Cause {
    const id = randomUUID();
    return { messageId: id, correlationId: id, actor: systemActor('scheduler') };
  }

  private note(version: number): void {
    this.appended = Math.max(this.appended, version);
  }

  /** Applies one recorded action unless it is applied already; false when there was nothing to do. */
  private async apply(action: Exclude<LaneAction, { kind: 'place' }>): Promise<boolean> {
    const now = new Date().toISOString();
    const cause = this.cause();
    switch (action.kind) {
      case 'unschedulable': {
        const event = createMessage(
          InstanceUnschedulable,
          { instanceId: action.instanceId, reason: action.reason },
          cause,
          now,
        );
        // At the version planned from: if anything happened to the instance since, the next plan decides.
        const expected = this.world.instanceVersion(action.instanceId);
        this.note((await this.store.append(INSTANCE, action.instanceId, [event], expected)).version);
        return true;
      }
      case 'stop':
        return this.stop(action.instanceId, action.reason, cause, now);
      case 'complete-deletion': {
        const { version } = await execute(
          this.apps,
          appId(action.space, action.app),
          (s) => completeDeletion(s, { liveInstances: 0 }, { cause, now }),
          evolveApp as never,
        );
        this.note(version);
        return true;
      }
    }
  }

  /**
   * The recorded placements on one node. Those the world does not show assigned there are appended as
   * `InstancesAssigned` at the version of the node's assignment subject as the world knows it: the
   * concurrency guard of the node's capacity (refused if anything was assigned or unassigned since, so
   * a stale plan never over-commits the node; two appliers of one recorded plan append it once). Once
   * that is stored, `InstancePlaced` for each is sent, all in flight at once: only this recorded
   * placement ever places the instance, so a repeated one says the same. Resolves when the assignment
   * is stored; `placed` resolves once every `InstancePlaced` is, to how many were placed.
   */
  private async place(
    nodeId: string,
    placements: readonly Recorded<'place'>[],
  ): Promise<{ placed: Promise<number> }> {
    const assignments: Assignment[] = [];
    const placed: string[] = [];
    for (const { instanceId } of placements) {
      const instance = this.world.instances.get(instanceId);
      const app = instance ? this.world.apps.get(appId(instance.space, instance.app)) : undefined;
      const spec = instance ? app?.versions[instance.version]?.spec : undefined;
      if (!instance || !spec || !isActive(instance)) continue;
      if (this.world.nodeOf(instanceId) !== nodeId) {
        assignments.push({
          instanceId,
          space: instance.space,
          app: instance.app,
          version: instance.version,
          spec,
        });
        placed.push(instanceId);
      } else if (instance.nodeId !== nodeId) placed.push(instanceId);
    }
    const cause = this.cause();
    const now = new Date().toISOString();
    if (assignments.length > 0) {
      const events = batches(assignments).map((batch, i) =>
        createMessage(InstancesAssigned, { nodeId, assignments: batch }, cause, now, i),
      );
      const expected = this.world.assignmentVersion(nodeId);
      this.note((await this.store.append(NODE_ASSIGNMENT, nodeId, events, expected)).version);
    }
    const outcomes = this.store.appendAll(
      placed.map((instanceId, i) => ({
        aggregateType: INSTANCE,
        aggregateId: instanceId,
        events: [createMessage(InstancePlaced, { instanceId, nodeId }, cause, now, i)],
        expectedVersion: 'any' as const,
      })),
    );
    const done = outcomes.then((settled) => {
      let applied = 0;
      for (const [i, outcome] of settled.entries()) {
        if (outcome.status === 'fulfilled') {
          this.note(outcome.value.version);
          applied++;
        } else {
          // Still recorded and not placed: the next pass sends it again.
          this.logger.warn({ err: outcome.reason, instanceId: placed[i], nodeId }, 'scheduler action failed');
        }
      }
      return applied;
    });
    return { placed: done };
  }

  private async stop(
    instanceId: string,
    reason: Recorded<'stop'>['reason'],
    cause: Cause,
    now: string,
  ): Promise<boolean> {
    const instance = this.world.instances.get(instanceId);
    if (!instance) return false;
    const nodeId = this.world.nodeOf(instanceId);
    let applied = false;
    if (!instance.stopRequested) {
      const events: PierEvent[] = [createMessage(InstanceStopRequested, { instanceId, reason }, cause, now)];
      if (!nodeId || reason === 'node-lost') {
        // Never running anywhere, or on a node that is gone: nothing to wait for. Should a lost node
        // come back, its agent stops the container because it is no longer assigned.
        events.push(createMessage(InstanceStopped, { instanceId, exitCode: null }, cause, now, 1));
      }
      // At the instance's version as the world saw it: two replicas applying the same recorded stop
      // append it once; the other finds it done at its next pass.
      const expected = this.world.instanceVersion(instanceId);
      this.note((await this.store.append(INSTANCE, instanceId, events, expected)).version);
      applied = true;
    } else if (reason === 'node-lost' && instance.phase !== 'stopped') {
      // Asked to stop before its node was lost: no agent will report the stop any more.
      const stopped = createMessage(InstanceStopped, { instanceId, exitCode: null }, cause, now);
      const expected = this.world.instanceVersion(instanceId);
      this.note((await this.store.append(INSTANCE, instanceId, [stopped], expected)).version);
      applied = true;
    }
    if (nodeId) {
      const unassigned = createMessage(InstanceUnassigned, { nodeId, instanceId, reason }, cause, now);
      const { version } = await this.store.append(NODE_ASSIGNMENT, nodeId, [unassigned], 'any');
      this.note(version);
      applied = true;
    }
    return applied;
  }
}

/** Splits a node's assignments into events of bounded size (a spec may carry a large environment). */
function batches(assignments: readonly Assignment[]): Assignment[][] {
  const out: Assignment[][] = [];
  let current: Assignment[] = [];
  let bytes = 0;
  const sizes = new Map<unknown, number>();
  for (const a of assignments) {
    let size = sizes.get(a.spec);
    if (size === undefined) sizes.set(a.spec, (size = JSON.stringify(a.spec).length + 200));
    if (
      current.length > 0 &&
      (current.length >= ASSIGNMENTS_PER_EVENT || bytes + size > ASSIGNMENT_BYTES_PER_EVENT)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(a);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
