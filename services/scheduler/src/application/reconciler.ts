import { randomUUID } from 'node:crypto';
import {
  APP,
  appId,
  type Cause,
  createMessage,
  INSTANCE,
  InstanceAssigned,
  InstancePlaced,
  InstanceRequested,
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

/** How many lanes of a plan are applied at once. */
const APPLY_CONCURRENCY = 32;

/** The version of one node's assignment subject as the actions of its lane leave it. */
interface NodeCursor {
  version?: number;
}

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
  private requests = 0;
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
   * Actions touching one node's assignment subject (placements on it, stops of its instances) form a
   * lane applied in plan order, each placement appended at the version the previous one left; every
   * other action is a lane of its own. Up to `APPLY_CONCURRENCY` lanes are applied at once, so a big
   * plan costs round trips per lane, not per action.
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
    const lanes = new Map<string, RecordedAction[]>();
    for (const action of actions) {
      const key = this.laneOf(action);
      const lane = lanes.get(key);
      if (lane) lane.push(action);
      else lanes.set(key, [action]);
    }
    let applied = 0;
    const queue = [...lanes.values()];
    const worker = async () => {
      for (let lane = queue.shift(); lane; lane = queue.shift()) {
        const n = await this.applyLane(lane); // not `applied += await …`: it would add to a stale sum
        applied += n;
      }
    };
    await Promise.all(Array.from({ length: Math.min(APPLY_CONCURRENCY, queue.length) }, worker));
    return applied;
  }

  private laneOf(action: RecordedAction): string {
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
      case 'request':
        return `request:${this.requests++}`;
    }
  }

  private async applyLane(lane: readonly RecordedAction[]): Promise<number> {
    const node: NodeCursor = {};
    let applied = 0;
    for (const action of lane) {
      try {
        if (await this.apply(action, node)) applied++;
      } catch (error) {
        // One failing action must not hold back the other lanes; the next pass retries from fresh
        // state. The rest of this lane waits for it: its placements were planned after this one.
        this.logger.warn({ err: error, action }, 'scheduler action failed');
        break;
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
  private async apply(action: RecordedAction, node: NodeCursor): Promise<boolean> {
    const now = new Date().toISOString();
    const cause = this.cause();
    switch (action.kind) {
      case 'request': {
        const { instanceId, space, app, version, clusterId, replaces } = action;
        if (this.world.instances.has(instanceId)) return false;
        const event = createMessage(
          InstanceRequested,
          { instanceId, space, app, version, clusterId, replaces },
          cause,
          now,
        );
        try {
          this.note((await this.store.append(INSTANCE, instanceId, [event], 0)).version);
        } catch (error) {
          // Applied meanwhile by another replica (the previous leader finishing its plan): done.
          if (error instanceof PierError && error.code === 'CONCURRENCY_CONFLICT') return false;
          throw error;
        }
        return true;
      }
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
      case 'place':
        return this.place(action.instanceId, action.nodeId, node, cause, now);
      case 'stop':
        return this.stop(action.instanceId, action.reason, node, cause, now);
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

  private async place(
    instanceId: string,
    nodeId: string,
    node: NodeCursor,
    cause: Cause,
    now: string,
  ): Promise<boolean> {
    const instance = this.world.instances.get(instanceId);
    const app = instance ? this.world.apps.get(appId(instance.space, instance.app)) : undefined;
    const spec = instance ? app?.versions[instance.version]?.spec : undefined;
    if (!instance || !spec || !isActive(instance)) return false;
    // The node's assignment subject is the concurrency guard of its capacity: read once per lane, then
    // carried from one append to the next. Read before looking at the world's assignments, so that the
    // world is known to hold every assignment of the node up to the version appended at.
    if (node.version === undefined) {
      node.version = await this.store.version(NODE_ASSIGNMENT, nodeId);
      if (node.version > this.world.position) {
        throw new PierError('CONCURRENCY_CONFLICT', `assignments of node ${nodeId} changed since the plan`);
      }
    }
    if (this.world.nodeOf(instanceId) !== nodeId) {
      const assigned = createMessage(
        InstanceAssigned,
        { nodeId, instanceId, space: instance.space, app: instance.app, version: instance.version, spec },
        cause,
        now,
      );
      node.version = (await this.store.append(NODE_ASSIGNMENT, nodeId, [assigned], node.version)).version;
      this.note(node.version);
    } else if (instance.nodeId === nodeId) {
      return false;
    }
    // Only this recorded placement ever places the instance, so a repeated InstancePlaced says the same.
    const placed = createMessage(InstancePlaced, { instanceId, nodeId }, cause, now);
    this.note((await this.store.append(INSTANCE, instanceId, [placed], 'any')).version);
    return true;
  }

  private async stop(
    instanceId: string,
    reason: Extract<RecordedAction, { kind: 'stop' }>['reason'],
    node: NodeCursor,
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
      // A placement later in this lane appends after this one.
      if (node.version !== undefined) node.version = version;
      this.note(version);
      applied = true;
    }
    return applied;
  }
}
