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

/**
 * The single writer: computes a plan from the world and appends it. It runs only while this replica
 * holds the scheduler lease, and only on a world that has caught up with everything it wrote before,
 * so it never decides twice on the same gap. Placements are appended to the node's assignment subject
 * at its current version, so a stale plan cannot over-commit a node.
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

  /** One pass: plan and apply. Returns how many actions were applied. */
  async tick(): Promise<number> {
    if (!this.caughtUp) return 0;
    const actions = plan(this.world.snapshot());
    let applied = 0;
    for (const action of actions) {
      try {
        await this.apply(action);
        applied++;
      } catch (error) {
        // One failing action must not hold back the others; the next pass retries from fresh state.
        this.logger.warn({ err: error, action }, 'scheduler action failed');
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

  private async apply(action: Action): Promise<void> {
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
        return this.place(action.instanceId, action.nodeId, cause, now);
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
        return;
      }
    }
  }

  private async place(instanceId: string, nodeId: string, cause: Cause, now: string): Promise<void> {
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
    // The node's assignment subject is the concurrency guard of its capacity.
    const expected = await this.store.version(NODE_ASSIGNMENT, nodeId);
    if (expected > this.world.position) {
      throw new PierError('CONCURRENCY_CONFLICT', `assignments of node ${nodeId} changed since the plan`);
    }
    this.note((await this.store.append(NODE_ASSIGNMENT, nodeId, [assigned], expected)).version);
    const placed = createMessage(InstancePlaced, { instanceId, nodeId }, cause, now);
    this.note((await this.store.append(INSTANCE, instanceId, [placed], 'any')).version);
  }

  private async stop(
    instanceId: string,
    reason: Extract<Action, { kind: 'stop' }>['reason'],
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
      this.note((await this.store.append(NODE_ASSIGNMENT, nodeId, [unassigned], 'any')).version);
    }
  }
}
