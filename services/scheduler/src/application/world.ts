import { type PierEvent } from '@pier/contracts';
import { type StoredEvent } from '@pier/eventstore';
import { type AppState, evolveApp } from '../domain/app/app.state';
import { evolveInstance, type InstanceState } from '../domain/instance/instance.state';
import { type NodeInfo, type Snapshot } from '../domain/scheduling/planner';

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

  apply(stored: StoredEvent<PierEvent>): void {
    this.position = Math.max(this.position, stored.position);
    const e = stored.event;
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
        this.assignedTo(e.data.nodeId).add(e.data.instanceId);
        return;
      case 'InstanceUnassigned':
        this.assignedTo(e.data.nodeId).delete(e.data.instanceId);
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
    }
  }

  snapshot(): Snapshot {
    const apps = [...this.apps.values()].filter((a) => !a.deleted);
    const live = new Set(apps.map((a) => `${a.space}_${a.app}`));
    return {
      apps,
      instances: [...this.instances.values()].filter(
        (i) => i.phase !== 'stopped' && live.has(`${i.space}_${i.app}`),
      ),
      nodes: [...this.nodes.values()],
    };
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
