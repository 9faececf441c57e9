import { NODE_ASSIGNMENT, type PierEvent, type RecordedAction } from '@pier/contracts';
import { type StoredEvent } from '@pier/eventstore';
import { type AppState, evolveApp } from '../domain/app/app.state';
import { evolveInstance, type InstanceState, isActive } from '../domain/instance/instance.state';
import { type NodeInfo, type Snapshot } from '../domain/scheduling/planner';

type Recorded<K extends RecordedAction['kind']> = Extract<RecordedAction, { kind: K }>;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The scheduler's picture of the world, folded from the event stream: clusters, nodes, apps, instances
 * and which instances each node is assigned. Everything the planner reads comes from here.
 */
export class World {
  readonly clusters = new Map<string, { id: string; name: string }>();
  readonly nodes = new Map<string, Mutable<NodeInfo>>();
  readonly apps = new Map<string, AppState>();
  readonly instances = new Map<string, InstanceState>();
  /** Instance ids assigned to each node (what its agent runs). */
  readonly assigned = new Map<string, Set<string>>();
  /** Position of the last event folded in. */
  position = 0;
  /** Who holds the scheduler lease, as its subject says. */
  lease?: { readonly holder: string; readonly term: number };
  /** The node each assigned instance is assigned to. */
  private readonly assignedNode = new Map<string, string>();
  /** Version of each node's assignment subject: the position of its last event. */
  private readonly assignmentVersions = new Map<string, number>();
  /** Version of each instance's subject: the position of its last event. */
  private readonly instanceVersions = new Map<string, number>();
  /**
   * Decisions recorded in the lease journal (ADR 0007) that the world has not seen applied yet. They
   * count as done in the snapshot, so no leader decides them again, and `pending()` hands them to
   * whichever leader applies them.
   */
  private readonly recordedRequests = new Map<string, { action: Recorded<'request'>; at: string }>();
  private readonly recordedPlacements = new Map<string, Recorded<'place'>>();
  private readonly recordedStops = new Map<string, Recorded<'stop'>>();

  /** An event the world has no use for was read at `position`. */
  passOver(position: number): void {
    this.position = Math.max(this.position, position);
  }

  apply(stored: StoredEvent<PierEvent>): void {
    this.position = Math.max(this.position, stored.position);
    const e = stored.event;
    if (stored.aggregateType === NODE_ASSIGNMENT)
      this.assignmentVersions.set(stored.aggregateId, stored.position);
    switch (e.type) {
      case 'ClusterCreated':
        this.clusters.set(e.data.clusterId, { id: e.data.clusterId, name: e.data.name });
        return;
      case 'NodeJoined': {
        const d = e.data;
        this.nodes.set(d.nodeId, {
          id: d.nodeId,
          name: d.name,
          clusterId: d.clusterId,
          liveness: 'up',
          scheduling: 'schedulable',
          labels: d.labels,
          zone: d.zone,
          capacity: d.capacity,
        });
        return;
      }
      case 'NodeRejoined':
      case 'NodeRecovered':
      case 'NodeLost':
      case 'NodeLeft':
      case 'NodeLabelsSet':
      case 'NodeCordoned':
      case 'NodeUncordoned':
      case 'NodeDrainStarted':
        this.applyNode(e);
        return;
      case 'InstanceAssigned':
        this.assign(e.data.nodeId, e.data.instanceId);
        return;
      case 'InstancesAssigned':
        for (const a of e.data.assignments) this.assign(e.data.nodeId, a.instanceId);
        return;
      case 'InstanceUnassigned':
        this.assignedTo(e.data.nodeId).delete(e.data.instanceId);
        if (this.assignedNode.get(e.data.instanceId) === e.data.nodeId)
          this.assignedNode.delete(e.data.instanceId);
        return;
      case 'SchedulerLeaseTaken':
        this.lease = { holder: e.data.holder, term: e.data.term };
        return;
      case 'SchedulerPlanRecorded':
        for (const action of e.data.actions) this.record(action, e.metadata.occurredAt);
        return;
      default:
        break;
    }
    if (stored.aggregateType === 'app') {
      const id = stored.aggregateId;
      const next = evolveApp(this.apps.get(id) ?? null, e as Parameters<typeof evolveApp>[1]);
      if (next) this.apps.set(id, next);
    } else if (stored.aggregateType === 'instance') {
      const next = evolveInstance(
        this.instances.get(stored.aggregateId) ?? null,
        e as Parameters<typeof evolveInstance>[1],
      );
      if (next) this.instances.set(stored.aggregateId, next);
      this.instanceVersions.set(stored.aggregateId, stored.position);
    }
  }

  /** The node an instance is assigned to, if any. */
  nodeOf(instanceId: string): string | undefined {
    return this.assignedNode.get(instanceId);
  }

  /**
   * The version of a node's assignment subject as far as the world has seen (0: none): appending there
   * at this version succeeds only if the world knows every assignment of the node.
   */
  assignmentVersion(nodeId: string): number {
    return this.assignmentVersions.get(nodeId) ?? 0;
  }

  /** The version of an instance's subject as far as the world has seen (0: none). */
  instanceVersion(instanceId: string): number {
    return this.instanceVersions.get(instanceId) ?? 0;
  }

  /**
   * Recorded decisions not seen applied yet, requests first (a placement or stop may wait for its
   * instance's request). Entries that are done, or moot because the instance stopped, are forgotten.
   */
  pending(): RecordedAction[] {
    this.settle();
    return [
      ...[...this.recordedRequests.values()].map((r) => r.action),
      ...this.recordedPlacements.values(),
      ...this.recordedStops.values(),
    ];
  }

  private record(action: RecordedAction, at: string): void {
    switch (action.kind) {
      case 'request':
        if (!this.instances.has(action.instanceId))
          this.recordedRequests.set(action.instanceId, { action, at });
        return;
      case 'place':
        this.recordedPlacements.set(action.instanceId, action);
        return;
      case 'stop':
        this.recordedStops.set(action.instanceId, action);
        return;
      default:
        return; // applied by the pass that decided them, or not at all: the next plan decides again
    }
  }

  private settle(): void {
    for (const id of this.recordedRequests.keys())
      if (this.instances.has(id)) this.recordedRequests.delete(id);
    for (const [id, { nodeId }] of this.recordedPlacements) {
      const instance = this.instances.get(id);
      if (!instance) continue;
      const done = instance.nodeId === nodeId && this.assignedNode.get(id) === nodeId;
      if (done || !isActive(instance)) this.recordedPlacements.delete(id);
    }
    for (const id of this.recordedStops.keys()) {
      const instance = this.instances.get(id);
      if (instance?.stopRequested && !this.assignedNode.has(id)) this.recordedStops.delete(id);
    }
  }

  /** What the planner sees: the instances as they are, with every recorded decision as if applied. */
  snapshot(): Snapshot {
    this.settle();
    const apps = [...this.apps.values()].filter((a) => !a.deleted);
    const live = new Set(apps.map((a) => `${a.space}_${a.app}`));
    const instances = [...this.instances.values()];
    for (const { action, at } of this.recordedRequests.values()) {
      const { instanceId, space, app, version, clusterId, replaces } = action;
      instances.push({
        ...{ id: instanceId, space, app, version, clusterId, replaces, nodeId: null, phase: 'pending' },
        ...{ reason: null, code: null, restarts: 0, host: null, hostPorts: [], startedAt: null },
        ...{ stopRequested: false, updatedAt: at },
      });
    }
    return {
      apps,
      instances: instances
        .map((i) => this.asDecided(i))
        .filter((i) => i.phase !== 'stopped' && live.has(`${i.space}_${i.app}`)),
      nodes: [...this.nodes.values()],
    };
  }

  private asDecided(instance: InstanceState): InstanceState {
    let i = instance;
    const placement = this.recordedPlacements.get(i.id);
    if (placement && i.nodeId === null)
      i = { ...i, nodeId: placement.nodeId, phase: 'starting', reason: null };
    const stop = this.recordedStops.get(i.id);
    if (stop && !i.stopRequested)
      i = { ...i, stopRequested: true, phase: 'stopping', reason: `stop: ${stop.reason}` };
    return i;
  }

  private assign(nodeId: string, instanceId: string): void {
    this.assignedTo(nodeId).add(instanceId);
    this.assignedNode.set(instanceId, nodeId);
  }

  private assignedTo(nodeId: string): Set<string> {
    let set = this.assigned.get(nodeId);
    if (!set) this.assigned.set(nodeId, (set = new Set()));
    return set;
  }

  private applyNode(e: Extract<PierEvent, { type: `Node${string}` }>): void {
    const node = this.nodes.get(e.data.nodeId);
    if (!node) return;
    switch (e.type) {
      case 'NodeRejoined':
        node.capacity = e.data.capacity;
        node.liveness = 'up';
        return;
      case 'NodeRecovered':
        node.liveness = 'up';
        return;
      case 'NodeLost':
        node.liveness = 'lost';
        return;
      case 'NodeLeft':
        node.liveness = 'left';
        return;
      case 'NodeLabelsSet':
        node.labels = e.data.labels;
        return;
      case 'NodeCordoned':
        node.scheduling = 'cordoned';
        return;
      case 'NodeUncordoned':
        node.scheduling = 'schedulable';
        return;
      case 'NodeDrainStarted':
        node.scheduling = 'draining';
        return;
      default:
        return;
    }
  }
}
