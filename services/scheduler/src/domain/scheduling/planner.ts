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
  'scale-down' | 'version-stopped' | 'replaced' | 'node-lost' | 'drain' | 'app-deleted' | 'unplaced';

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
export function plan(snapshot: Snapshot): Action[] {
  const actions: Action[] = [];
  const nodes = new Map(snapshot.nodes.map((n) => [n.id, n]));
  const byApp = new Map<string, InstanceState[]>();
  for (const i of snapshot.instances) {
    const list = byApp.get(key(i.space, i.app)) ?? [];
    list.push(i);
    byApp.set(key(i.space, i.app), list);
  }
  const stopping = new Set<string>();
  for (const app of snapshot.apps) {
    const instances = byApp.get(key(app.space, app.app)) ?? [];
    for (const a of reconcileApp(app, instances, nodes)) {
      if (a.kind === 'stop') stopping.add(a.instanceId);
      actions.push(a);
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
  const active = instances.filter(isActive);
  if (app.deleting) {
    for (const i of active) actions.push({ kind: 'stop', instanceId: i.id, reason: 'app-deleted' });
    if (instances.every((i) => i.phase === 'stopped'))
      actions.push({ kind: 'complete-deletion', space: app.space, app: app.app });
    return actions;
  }
  const versions = new Map(liveVersions(app).map((v) => [v.version, v]));
  const byVersion = new Map<number, InstanceState[]>();
  for (const i of active) byVersion.set(i.version, [...(byVersion.get(i.version) ?? []), i]);
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
  // Draining: a replacement starts first; the old instance stops once the replacement is ready.
  const replacementOf = new Map(alive.filter((i) => i.replaces).map((i) => [i.replaces!, i]));
  const replaced = new Set<string>();
  for (const i of alive) {
    if (!i.nodeId || nodes.get(i.nodeId)?.scheduling !== 'draining' || desired === 0) continue;
    const replacement = replacementOf.get(i.id);
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
    if (replacement.phase === 'ready') actions.push({ kind: 'stop', instanceId: i.id, reason: 'drain' });
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
    for (const i of [...counted].sort(stopOrder).slice(0, counted.length - desired))
      actions.push({ kind: 'stop', instanceId: i.id, reason });
  }
  return actions;
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

function placeAll(
  unplaced: readonly InstanceState[],
  snapshot: Snapshot,
  stopping: ReadonlySet<string>,
): Action[] {
  const apps = new Map(snapshot.apps.map((a) => [key(a.space, a.app), a]));
  const usage = new Map<string, Usage>(snapshot.nodes.map((n) => [n.id, { cpu: 0, memory: 0 }]));
  const appOnNode = new Map<string, number>();
  const appInZone = new Map<string, number>();
  const zoneOf = new Map(snapshot.nodes.map((n) => [n.id, n.zone]));
  const count = (i: { space: string; app: string }, nodeId: string) => {
    const k = key(i.space, i.app);
    appOnNode.set(`${k}@${nodeId}`, (appOnNode.get(`${k}@${nodeId}`) ?? 0) + 1);
    appInZone.set(`${k}@${zoneOf.get(nodeId)}`, (appInZone.get(`${k}@${zoneOf.get(nodeId)}`) ?? 0) + 1);
  };
  for (const i of snapshot.instances) {
    if (!i.nodeId || i.phase === 'stopped' || !usage.has(i.nodeId)) continue;
    const spec = apps.get(key(i.space, i.app))?.versions[i.version]?.spec;
    const u = usage.get(i.nodeId)!;
    u.cpu += spec?.resources.cpu ?? 0;
    u.memory += spec?.resources.memory ?? 0;
    if (isActive(i) && !stopping.has(i.id)) count(i, i.nodeId);
  }
  const actions: Action[] = [];
  for (const i of [...unplaced].sort(
    (a, b) => a.updatedAt.localeCompare(b.updatedAt) || a.id.localeCompare(b.id),
  )) {
    const spec = apps.get(key(i.space, i.app))?.versions[i.version]?.spec;
    if (!spec) continue;
    const refusals = new Map<string, number>();
    const fits: NodeInfo[] = [];
    const candidates = snapshot.nodes.filter((n) => n.clusterId === i.clusterId);
    for (const node of candidates) {
      const why = refusal(node, usage.get(node.id)!, spec.resources, spec.placement.constraints);
      if (why) refusals.set(why, (refusals.get(why) ?? 0) + 1);
      else fits.push(node);
    }
    if (fits.length === 0) {
      const reason = unschedulableReason(candidates.length, refusals);
      if (i.phase !== 'unschedulable' || i.reason !== reason)
        actions.push({ kind: 'unschedulable', instanceId: i.id, reason });
      continue;
    }
    const score = (n: NodeInfo) => {
      const u = usage.get(n.id)!;
      return [
        appOnNode.get(`${key(i.space, i.app)}@${n.id}`) ?? 0,
        appInZone.get(`${key(i.space, i.app)}@${n.zone}`) ?? 0,
        (u.cpu / n.capacity.cpuMillicores + u.memory / n.capacity.memoryMiB) / 2,
      ];
    };
    const best = fits
      .map((n) => ({ n, s: score(n) }))
      .sort(
        (a, b) => a.s[0]! - b.s[0]! || a.s[1]! - b.s[1]! || a.s[2]! - b.s[2]! || a.n.id.localeCompare(b.n.id),
      )[0]!.n;
    const u = usage.get(best.id)!;
    u.cpu += spec.resources.cpu;
    u.memory += spec.resources.memory;
    count(i, best.id);
    actions.push({ kind: 'place', instanceId: i.id, nodeId: best.id });
  }
  return actions;
}

function refusal(
  node: NodeInfo,
  used: Usage,
  resources: { cpu: number; memory: number },
  constraints: readonly string[],
): string | null {
  if (node.liveness !== 'up') return node.liveness === 'lost' ? 'lost' : 'left';
  if (node.scheduling !== 'schedulable') return node.scheduling;
  if (used.cpu + resources.cpu > node.capacity.cpuMillicores) return 'insufficient cpu';
  if (used.memory + resources.memory > node.capacity.memoryMiB) return 'insufficient memory';
  const labels = {
    ...node.labels,
    'pier.node.id': node.id,
    'pier.node.name': node.name,
    'pier.zone': node.zone,
  };
  const failed = constraints.find((c) => !satisfies(c, labels));
  return failed ? `constraint ${failed}` : null;
}

/** "0/3 nodes: 2 insufficient memory, 1 cordoned" — the reasons by count, most frequent first. */
export function unschedulableReason(total: number, refusals: ReadonlyMap<string, number>): string {
  if (total === 0) return '0/0 nodes: the cluster has no nodes';
  const parts = [...refusals.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([why, n]) => `${n} ${why}`);
  return `0/${total} nodes: ${parts.join(', ')}`;
}
