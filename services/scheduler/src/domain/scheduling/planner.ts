import { type AppState, liveVersions } from '../app/app.state';
import { type InstanceState, isActive } from '../instance/instance.state';
import { satisfies } from './constraints';

/** What the scheduler knows of a node. */
export interface NodeInfo {
  readonly id: string;
  readonly name: string;
  readonly clusterId: string;
  readonly liveness: 'up' | 'lost' | 'left';
  readonly scheduling: 'schedulable' | 'cordoned' | 'draining';
  readonly labels: Readonly<Record<string, string>>;
  readonly zone: string;
  readonly capacity: { readonly cpuMillicores: number; readonly memoryMiB: number };
}

/** An immutable picture of the world the plan is computed from. */
export interface Snapshot {
  readonly apps: readonly AppState[];
  readonly instances: readonly InstanceState[];
  readonly nodes: readonly NodeInfo[];
}

export type StopReason =
  | 'scale-down'
  | 'version-stopped'
  | 'replaced'
  | 'node-lost'
  | 'drain'
  | 'rebalance'
  | 'app-deleted'
  | 'unplaced';

export interface PlanOptions {
  /**
   * Move a settled app's instances, one at a time and the replacement ready first, until no node of
   * its cluster that could take one runs two fewer of them than another (see `rebalanceMove`).
   */
  readonly rebalance: boolean;
}

export type Action =
  | {
      readonly kind: 'request';
      readonly space: string;
      readonly app: string;
      readonly version: number;
      readonly clusterId: string;
      readonly replaces: string | null;
    }
  | { readonly kind: 'place'; readonly instanceId: string; readonly nodeId: string }
  | { readonly kind: 'unschedulable'; readonly instanceId: string; readonly reason: string }
  | { readonly kind: 'stop'; readonly instanceId: string; readonly reason: StopReason }
  | { readonly kind: 'complete-deletion'; readonly space: string; readonly app: string };

const key = (space: string, app: string) => `${space}/${app}`;

/**
 * The scheduler's decision, pure: from desired instances (apps and versions) and actual ones (instances
 * and nodes) to a list of actions. Filters: cluster, node state, free CPU and memory, label constraints.
 * Scores: spread an app's instances across nodes, then zones, then least allocated.
 */
export function plan(snapshot: Snapshot, options: PlanOptions = { rebalance: true }): Action[] {
  const actions: Action[] = [];
  const nodes = new Map(snapshot.nodes.map((n) => [n.id, n]));
  const apps = new Map(snapshot.apps.map((a) => [key(a.space, a.app), a]));
  let usage: ReadonlyMap<string, Usage> | undefined;
  const byApp = new Map<string, InstanceState[]>();
  for (const i of snapshot.instances) {
    const list = byApp.get(key(i.space, i.app)) ?? [];
    list.push(i);
    byApp.set(key(i.space, i.app), list);
  }
  const stopping = new Set<string>();
  for (const app of snapshot.apps) {
    const instances = byApp.get(key(app.space, app.app)) ?? [];
    const appActions = reconcileApp(app, instances, nodes);
    for (const a of appActions) {
      if (a.kind === 'stop') stopping.add(a.instanceId);
      actions.push(a);
    }
    if (options.rebalance && appActions.length === 0 && settled(app, instances)) {
      usage ??= allocations(snapshot, apps);
      const move = rebalanceMove(app, instances, snapshot.nodes, usage);
      if (move) actions.push(move);
    }
  }
  const unplaced = snapshot.instances.filter((i) => isActive(i) && !i.nodeId && !stopping.has(i.id));
  actions.push(...placeAll(unplaced, snapshot, stopping));
  return actions;
}

function reconcileApp(
  app: AppState,
  instances: readonly InstanceState[],
  nodes: ReadonlyMap<string, NodeInfo>,
): Action[] {
  const actions: Action[] = [];
  // Asked to stop, then its node was lost: no agent will report the stop, so it is stopped now (a node
  // that comes back stops the container, as it is no longer assigned).
  for (const i of instances) {
    const node = i.nodeId ? nodes.get(i.nodeId) : undefined;
    if (i.stopRequested && i.phase !== 'stopped' && i.nodeId && (!node || node.liveness !== 'up'))
      actions.push({ kind: 'stop', instanceId: i.id, reason: 'node-lost' });
  }
  const active = instances.filter(isActive);
  if (app.deleting) {
    for (const i of active) actions.push({ kind: 'stop', instanceId: i.id, reason: 'app-deleted' });
    if (instances.every((i) => i.phase === 'stopped'))
      actions.push({ kind: 'complete-deletion', space: app.space, app: app.app });
    return actions;
  }
  const versions = new Map(liveVersions(app).map((v) => [v.version, v]));
  const byVersion = new Map<number, InstanceState[]>();
  for (const i of active) {
    const list = byVersion.get(i.version);
    if (list) list.push(i);
    else byVersion.set(i.version, [i]);
  }
  for (const [version, list] of byVersion) {
    if (!versions.has(version))
      for (const i of list) actions.push({ kind: 'stop', instanceId: i.id, reason: 'version-stopped' });
  }
  for (const v of versions.values()) {
    actions.push(...reconcileVersion(app, v.version, v.desired, byVersion.get(v.version) ?? [], nodes));
  }
  return actions;
}

function reconcileVersion(
  app: AppState,
  version: number,
  desired: number,
  active: readonly InstanceState[],
  nodes: ReadonlyMap<string, NodeInfo>,
): Action[] {
  const actions: Action[] = [];
  const alive: InstanceState[] = [];
  for (const i of active) {
    const node = i.nodeId ? nodes.get(i.nodeId) : undefined;
    if (i.nodeId && (!node || node.liveness !== 'up'))
      actions.push({ kind: 'stop', instanceId: i.id, reason: 'node-lost' });
    else alive.push(i);
  }
  // Draining or rebalancing: a replacement starts first; the old instance stops once it is ready.
  const replacementOf = new Map(alive.filter((i) => i.replaces).map((i) => [i.replaces!, i]));
  const replaced = new Set<string>();
  for (const i of alive) {
    if (desired === 0) continue;
    const draining = i.nodeId !== null && nodes.get(i.nodeId)?.scheduling === 'draining';
    const replacement = replacementOf.get(i.id);
    if (!draining && !replacement) continue;
    if (!replacement) {
      // The replacement request stands in for this instance until it exists.
      actions.push({
        kind: 'request',
        space: app.space,
        app: app.app,
        version,
        clusterId: app.clusterId,
        replaces: i.id,
      });
      continue;
    }
    replaced.add(i.id); // its replacement is counted instead
    if (replacement.phase === 'ready')
      actions.push({ kind: 'stop', instanceId: i.id, reason: draining ? 'drain' : 'rebalance' });
  }
  const counted = alive.filter((i) => !replaced.has(i.id));
  if (counted.length < desired) {
    for (let n = counted.length; n < desired; n++) {
      actions.push({
        kind: 'request',
        space: app.space,
        app: app.app,
        version,
        clusterId: app.clusterId,
        replaces: null,
      });
    }
  } else if (counted.length > desired) {
    const reason: StopReason = desired === 0 ? 'version-stopped' : 'scale-down';
    for (const i of scaleDownVictims(counted, counted.length - desired))
      actions.push({ kind: 'stop', instanceId: i.id, reason });
  }
  return actions;
}

/**
 * The `count` instances a scale-down stops, one at a time: the least useful first (`stopOrder`'s
 * phases), and among equals one from the node that runs the most of the others, as Kubernetes'
 * ReplicaSets do: the spread survives, and so one lost node cannot take every remaining instance with it.
 */
function scaleDownVictims(instances: readonly InstanceState[], count: number): InstanceState[] {
  const perNode = new Map<string, number>();
  for (const i of instances) if (i.nodeId) perNode.set(i.nodeId, (perNode.get(i.nodeId) ?? 0) + 1);
  const colocated = (i: InstanceState) => (i.nodeId ? perNode.get(i.nodeId)! : 0);
  const goesBefore = (a: InstanceState, b: InstanceState) =>
    (STOP_RANK[a.phase] ?? 5) - (STOP_RANK[b.phase] ?? 5) || colocated(b) - colocated(a) || stopOrder(a, b);
  const left = [...instances];
  const victims: InstanceState[] = [];
  while (victims.length < count && left.length > 0) {
    const next = left.reduce((best, i) => (goesBefore(i, best) < 0 ? i : best));
    victims.push(next);
    left.splice(left.indexOf(next), 1);
    if (next.nodeId) perNode.set(next.nodeId, perNode.get(next.nodeId)! - 1);
  }
  return victims;
}

/** Which instances go first on scale-down: never-placed, then failing, then the newest ready ones. */
const STOP_RANK: Record<string, number> = {
  pending: 0,
  unschedulable: 0,
  failed: 1,
  unhealthy: 2,
  starting: 3,
  ready: 4,
};
function stopOrder(a: InstanceState, b: InstanceState): number {
  return (
    (STOP_RANK[a.phase] ?? 5) - (STOP_RANK[b.phase] ?? 5) ||
    b.updatedAt.localeCompare(a.updatedAt) ||
    a.id.localeCompare(b.id)
  );
}

interface Usage {
  cpu: number;
  memory: number;
}

/** A node as one planning pass sees it: what it has used so far and what refuses it regardless of the instance. */
interface Candidate {
  readonly node: NodeInfo;
  readonly usage: Usage;
  /** Lost, left, cordoned or draining: refused whatever the instance asks. */
  readonly state: string | null;
  /** Index of the node's zone among its cluster's zones. */
  readonly zone: number;
}

/** Per cluster, its candidates (in node id order), and per set of constraints the first one each fails. */
interface ClusterCandidates {
  readonly candidates: Candidate[];
  readonly zones: Map<string, number>;
  readonly constraintVerdicts: Map<string, (string | null)[]>;
}

/** How many instances of one app each candidate node and each zone of its cluster holds. */
interface Spread {
  readonly onNode: Int32Array;
  readonly inZone: Int32Array;
}

/**
 * Places every unplaced instance, oldest first, on the best node of its cluster. One pass costs
 * O(unplaced × nodes) cheap comparisons: what does not depend on the instance (a node's state, its
 * labels against a set of constraints) is worked out once per pass, the spread counts are arrays indexed
 * like the candidates (no lookup by id in the scan), and the best node is found in one scan instead of
 * sorting every fit.
 */
function placeAll(
  unplaced: readonly InstanceState[],
  snapshot: Snapshot,
  stopping: ReadonlySet<string>,
): Action[] {
  const apps = new Map(snapshot.apps.map((a) => [key(a.space, a.app), a]));
  const clusters = candidatesByCluster(snapshot, allocations(snapshot, apps));
  /** Where each node is among its cluster's candidates. */
  const indexOf = new Map<string, number>();
  for (const { candidates } of clusters.values()) candidates.forEach((c, n) => indexOf.set(c.node.id, n));
  const spreads = new Map<string, Spread>();
  const spreadOf = (i: InstanceState, cluster: ClusterCandidates) => {
    const k = `${key(i.space, i.app)}\n${i.clusterId}`;
    let spread = spreads.get(k);
    if (!spread) {
      spread = {
        onNode: new Int32Array(cluster.candidates.length),
        inZone: new Int32Array(cluster.zones.size),
      };
      spreads.set(k, spread);
    }
    return spread;
  };
  const count = (i: InstanceState, nodeId: string) => {
    const cluster = clusters.get(i.clusterId);
    const n = indexOf.get(nodeId);
    // Only the nodes of its own cluster are ever candidates for an instance.
    if (!cluster || n === undefined || cluster.candidates[n]?.node.id !== nodeId) return;
    const spread = spreadOf(i, cluster);
    spread.onNode[n]!++;
    spread.inZone[cluster.candidates[n]!.zone]!++;
  };
  for (const i of snapshot.instances) {
    if (i.nodeId && isActive(i) && !stopping.has(i.id)) count(i, i.nodeId);
  }
  const actions: Action[] = [];
  for (const i of [...unplaced].sort(
    (a, b) => a.updatedAt.localeCompare(b.updatedAt) || a.id.localeCompare(b.id),
  )) {
    const spec = apps.get(key(i.space, i.app))?.versions[i.version]?.spec;
    if (!spec) continue;
    const cluster = clusters.get(i.clusterId);
    const candidates = cluster?.candidates ?? [];
    const verdicts = cluster ? constraintVerdicts(cluster, spec.placement.constraints) : [];
    const best = cluster ? bestCandidate(cluster, verdicts, spreadOf(i, cluster), spec.resources) : -1;
    if (best < 0) {
      const refusals = new Map<string, number>();
      for (let n = 0; n < candidates.length; n++) {
        const c = candidates[n]!;
        const why =
          c.state ?? resourceRefusal(c, spec.resources) ?? (verdicts[n] ? `constraint ${verdicts[n]}` : null);
        if (why) refusals.set(why, (refusals.get(why) ?? 0) + 1);
      }
      const reason = unschedulableReason(candidates.length, refusals);
      if (i.phase !== 'unschedulable' || i.reason !== reason)
        actions.push({ kind: 'unschedulable', instanceId: i.id, reason });
      continue;
    }
    const chosen = candidates[best]!;
    chosen.usage.cpu += spec.resources.cpu;
    chosen.usage.memory += spec.resources.memory;
    count(i, chosen.node.id);
    actions.push({ kind: 'place', instanceId: i.id, nodeId: chosen.node.id });
  }
  return actions;
}

/** The candidates of every cluster, in node id order, with the CPU and memory each has used. */
function candidatesByCluster(
  snapshot: Snapshot,
  usage: ReadonlyMap<string, Usage>,
): Map<string, ClusterCandidates> {
  const clusters = new Map<string, ClusterCandidates>();
  for (const node of [...snapshot.nodes].sort((a, b) => a.id.localeCompare(b.id))) {
    let cluster = clusters.get(node.clusterId);
    if (!cluster) {
      cluster = { candidates: [], zones: new Map(), constraintVerdicts: new Map() };
      clusters.set(node.clusterId, cluster);
    }
    let zone = cluster.zones.get(node.zone);
    if (zone === undefined) cluster.zones.set(node.zone, (zone = cluster.zones.size));
    cluster.candidates.push({ node, usage: usage.get(node.id)!, state: stateRefusal(node), zone });
  }
  return clusters;
}

/**
 * The index of the best candidate that fits, or -1: spread the app across nodes, then zones, then prefer
 * the least allocated; ties go to the first in node id order.
 */
function bestCandidate(
  cluster: ClusterCandidates,
  verdicts: readonly (string | null)[],
  spread: Spread,
  { cpu, memory }: { cpu: number; memory: number },
): number {
  const { candidates } = cluster;
  const { onNode, inZone } = spread;
  let best = -1;
  let bestNode = 0;
  let bestZone = 0;
  let bestLoad = 0;
  for (let n = 0; n < candidates.length; n++) {
    const c = candidates[n]!;
    const sameNode = onNode[n]!;
    if (best >= 0 && sameNode > bestNode) continue;
    const u = c.usage;
    const capacity = c.node.capacity;
    if (c.state || u.cpu + cpu > capacity.cpuMillicores || u.memory + memory > capacity.memoryMiB) continue;
    if (verdicts[n]) continue;
    const sameZone = inZone[c.zone]!;
    const load = (u.cpu / capacity.cpuMillicores + u.memory / capacity.memoryMiB) / 2;
    if (
      best < 0 ||
      sameNode < bestNode ||
      sameZone < bestZone ||
      (sameZone === bestZone && load < bestLoad)
    ) {
      best = n;
      bestNode = sameNode;
      bestZone = sameZone;
      bestLoad = load;
    }
  }
  return best;
}

/** Per node, the CPU and memory its instances hold, counting those still stopping. */
function allocations(snapshot: Snapshot, apps: ReadonlyMap<string, AppState>): Map<string, Usage> {
  const usage = new Map<string, Usage>(snapshot.nodes.map((n) => [n.id, { cpu: 0, memory: 0 }]));
  for (const i of snapshot.instances) {
    const u = i.nodeId && i.phase !== 'stopped' ? usage.get(i.nodeId) : undefined;
    if (!u) continue;
    const spec = apps.get(key(i.space, i.app))?.versions[i.version]?.spec;
    u.cpu += spec?.resources.cpu ?? 0;
    u.memory += spec?.resources.memory ?? 0;
  }
  return usage;
}

/** Nothing of the app is on its way: every instance not stopped is placed, ready and not asked to stop. */
function settled(app: AppState, instances: readonly InstanceState[]): boolean {
  return (
    !app.deleting &&
    instances.every((i) => i.phase === 'stopped' || (isActive(i) && i.phase === 'ready' && i.nodeId !== null))
  );
}

/**
 * One step towards an even spread of a settled app: a replacement (placed by `placeAll`, which prefers
 * the node running the fewest of the app's instances) for an instance of the node that runs the most,
 * when a node that could take it runs at least two fewer. The old instance stops once the replacement
 * is ready, as in a drain. Only nodes that `placeAll` would accept count (up, schedulable, within the
 * app's constraints, room for the instance), so the replacement always lands on a node with fewer
 * instances, every move narrows the spread, and moves stop once no two fitting nodes differ by more
 * than one. Nodes are lost, drained and scaled around; without this, an app whose node was lost stays
 * packed on the others after the node returns, and losing one of those takes every instance with it.
 */
function rebalanceMove(
  app: AppState,
  instances: readonly InstanceState[],
  nodes: readonly NodeInfo[],
  usage: ReadonlyMap<string, Usage>,
): Action | null {
  const active = instances.filter(isActive);
  const perNode = new Map<string, InstanceState[]>();
  for (const i of active) {
    const list = perNode.get(i.nodeId!);
    if (list) list.push(i);
    else perNode.set(i.nodeId!, [i]);
  }
  let crowded: InstanceState[] = [];
  for (const [nodeId, list] of perNode)
    if (list.length > crowded.length || (list.length === crowded.length && nodeId < crowded[0]!.nodeId!))
      crowded = list;
  if (crowded.length < 2) return null;
  // The instance that moves: the one a scale-down would stop first (the newest).
  const mover = [...crowded].sort(stopOrder)[0]!;
  const spec = app.versions[mover.version]?.spec;
  if (!spec) return null;
  const fits = nodes.some((node) => {
    const u = usage.get(node.id);
    return (
      (perNode.get(node.id)?.length ?? 0) <= crowded.length - 2 &&
      node.clusterId === app.clusterId &&
      !stateRefusal(node) &&
      u !== undefined &&
      u.cpu + spec.resources.cpu <= node.capacity.cpuMillicores &&
      u.memory + spec.resources.memory <= node.capacity.memoryMiB &&
      spec.placement.constraints.every((c) => satisfies(c, nodeLabels(node)))
    );
  });
  if (!fits) return null;
  return {
    kind: 'request',
    space: app.space,
    app: app.app,
    version: mover.version,
    clusterId: app.clusterId,
    replaces: mover.id,
  };
}

function stateRefusal(node: NodeInfo): string | null {
  if (node.liveness !== 'up') return node.liveness === 'lost' ? 'lost' : 'left';
  if (node.scheduling !== 'schedulable') return node.scheduling;
  return null;
}

function resourceRefusal(c: Candidate, resources: { cpu: number; memory: number }): string | null {
  if (c.usage.cpu + resources.cpu > c.node.capacity.cpuMillicores) return 'insufficient cpu';
  if (c.usage.memory + resources.memory > c.node.capacity.memoryMiB) return 'insufficient memory';
  return null;
}

/** For each candidate of the cluster, the first of `constraints` its labels fail (null: all hold), worked out once per pass. */
function constraintVerdicts(cluster: ClusterCandidates, constraints: readonly string[]): (string | null)[] {
  const k = constraints.join('\n');
  let verdicts = cluster.constraintVerdicts.get(k);
  if (!verdicts) {
    verdicts = cluster.candidates.map(({ node }) => {
      if (constraints.length === 0) return null;
      const labels = nodeLabels(node);
      return constraints.find((c) => !satisfies(c, labels)) ?? null;
    });
    cluster.constraintVerdicts.set(k, verdicts);
  }
  return verdicts;
}

/** A node's labels as constraints see them: its own and Pier's. */
function nodeLabels(node: NodeInfo): Readonly<Record<string, string>> {
  return { ...node.labels, 'pier.node.id': node.id, 'pier.node.name': node.name, 'pier.zone': node.zone };
}

/** "0/3 nodes: 2 insufficient memory, 1 cordoned" — the reasons by count, most frequent first. */
export function unschedulableReason(total: number, refusals: ReadonlyMap<string, number>): string {
  if (total === 0) return '0/0 nodes: the cluster has no nodes';
  const parts = [...refusals.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([why, n]) => `${n} ${why}`);
  return `0/${total} nodes: ${parts.join(', ')}`;
}
