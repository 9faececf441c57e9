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
  systemActor,
} from '@pier/contracts';
import { type EventStore, EventSourcedRepository, execute } from '@pier/eventstore';
import { type Logger } from '@pier/observability';
import { completeDeletion } from '../domain/app/app.decide';
import { type AppState, evolveApp } from '../domain/app/app.state';
import { type Action, plan } from '../domain/scheduling/planner';
import { type World } from './world';

/** How many lanes of a plan are applied at once. */
const APPLY_CONCURRENCY = 32;

/** The version of one node's assignment subject as the actions of its lane leave it. */
interface NodeCursor {
  version?: number;
}

/**
 * The single writer: computes a plan from the world and appends it. It runs only while this replica
 * holds the scheduler lease, and only on a world that has caught up with everything it wrote before,
 * so it never decides twice on the same gap. Placements are appended to the node's assignment subject
 * at its current version, so a stale plan cannot over-commit a node.
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
    private readonly logger: Logger,
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
   * One pass: plan and apply. Returns how many actions were applied.
   *
   * Actions touching one node's assignment subject (placements on it, stops of its instances) form a
   * lane applied in plan order, each placement appended at the version the previous one left; every
   * other action is a lane of its own. Up to `APPLY_CONCURRENCY` lanes are applied at once, so a big
   * plan costs round trips per lane, not per action.
   */
  async tick(): Promise<number> {
    if (!this.caughtUp) return 0;
    const lanes = new Map<string, Action[]>();
    for (const action of plan(this.world.snapshot())) {
      const key = this.laneOf(action);
      const lane = lanes.get(key);
      if (lane) lane.push(action);
      else lanes.set(key, [action]);
    }
    let applied = 0;
    const queue = [...lanes.values()];
    const worker = async () => {
      for (let lane = queue.shift(); lane; lane = queue.shift()) applied += await this.applyLane(lane);
    };
    await Promise.all(Array.from({ length: Math.min(APPLY_CONCURRENCY, queue.length) }, worker));
    return applied;
  }

  private laneOf(action: Action): string {
    switch (action.kind) {
      case 'place':
        return `node:${action.nodeId}`;
      case 'stop': {
        const nodeId = this.world.instances.get(action.instanceId)?.nodeId;
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

  private async applyLane(lane: readonly Action[]): Promise<number> {
    const node: NodeCursor = {};
    let applied = 0;
    for (const action of lane) {
      try {
        await this.apply(action, node);
        applied++;
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

  private async apply(action: Action, node: NodeCursor): Promise<void> {
    const now = new Date().toISOString();
    const cause = this.cause();
    switch (action.kind) {
      case 'request': {
        const instanceId = randomUUID();
        const { space, app, version, clusterId, replaces } = action;
        const event = createMessage(
          InstanceRequested,
          { instanceId, space, app, version, clusterId, replaces },
          cause,
          now,
        );
        this.note((await this.store.append(INSTANCE, instanceId, [event], 0)).version);
        return;
      }
      case 'unschedulable': {
        const event = createMessage(
          InstanceUnschedulable,
          { instanceId: action.instanceId, reason: action.reason },
          cause,
          now,
        );
        this.note((await this.store.append(INSTANCE, action.instanceId, [event], 'any')).version);
        return;
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
        return;
      }
    }
  }

  private async place(
    instanceId: string,
    nodeId: string,
    node: NodeCursor,
    cause: Cause,
    now: string,
  ): Promise<void> {
    const instance = this.world.instances.get(instanceId);
    const app = instance ? this.world.apps.get(appId(instance.space, instance.app)) : undefined;
    const spec = instance ? app?.versions[instance.version]?.spec : undefined;
    if (!instance || !spec) return;
    const assigned = createMessage(
      InstanceAssigned,
      { nodeId, instanceId, space: instance.space, app: instance.app, version: instance.version, spec },
      cause,
      now,
    );
    // The node's assignment subject is the concurrency guard of its capacity: read once per lane, then
    // carried from one append to the next.
    if (node.version === undefined) {
      node.version = await this.store.version(NODE_ASSIGNMENT, nodeId);
      if (node.version > this.world.position) {
        throw new PierError('CONCURRENCY_CONFLICT', `assignments of node ${nodeId} changed since the plan`);
      }
    }
    node.version = (await this.store.append(NODE_ASSIGNMENT, nodeId, [assigned], node.version)).version;
    this.note(node.version);
    const placed = createMessage(InstancePlaced, { instanceId, nodeId }, cause, now);
    this.note((await this.store.append(INSTANCE, instanceId, [placed], 'any')).version);
  }

  private async stop(
    instanceId: string,
    reason: Extract<Action, { kind: 'stop' }>['reason'],
    node: NodeCursor,
    cause: Cause,
    now: string,
  ): Promise<void> {
    const instance = this.world.instances.get(instanceId);
    if (!instance) return;
    const events: PierEvent[] = [createMessage(InstanceStopRequested, { instanceId, reason }, cause, now)];
    const nodeId = instance.nodeId;
    if (!nodeId || !this.world.assigned.get(nodeId)?.has(instanceId) || reason === 'node-lost') {
      // Never running anywhere, or on a node that is gone: nothing to wait for. Should a lost node
      // come back, its agent stops the container because it is no longer assigned.
      events.push(createMessage(InstanceStopped, { instanceId, exitCode: null }, cause, now, 1));
    }
    this.note((await this.store.append(INSTANCE, instanceId, events, 'any')).version);
    if (nodeId && this.world.assigned.get(nodeId)?.has(instanceId)) {
      const unassigned = createMessage(InstanceUnassigned, { nodeId, instanceId, reason }, cause, now);
      const { version } = await this.store.append(NODE_ASSIGNMENT, nodeId, [unassigned], 'any');
      // A placement later in this lane appends after this one.
      if (node.version !== undefined) node.version = version;
      this.note(version);
    }
  }
}
