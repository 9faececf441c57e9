import { versionSpecSchema } from '@pier/contracts';
import { type AppState } from '../app/app.state';
import { type InstanceState } from '../instance/instance.state';
import { type NodeInfo, plan, type Snapshot } from './planner';

const CLUSTER = 'c1';
const spec = (over: Record<string, unknown> = {}) =>
  versionSpecSchema.parse({ image: 'pier/busybox:latest', resources: { cpu: 500, memory: 512 }, ...over });
const app = (
  over: Partial<AppState> = {},
  desired = 2,
  specOver: Record<string, unknown> = {},
): AppState => ({
  space: 's',
  app: 'web',
  clusterId: CLUSTER,
  defaultDomain: 'web.s.pier.localhost',
  domains: [],
  versions: { 1: { version: 1, spec: spec(specOver), desired, deleted: false, createdAt: 't' } },
  weights: { 1: 10_000 },
  stickySessions: false,
  deleting: false,
  deleted: false,
  createdAt: 't',
  ...over,
});
const node = (id: string, over: Partial<NodeInfo> = {}): NodeInfo => ({
  id,
  name: id,
  clusterId: CLUSTER,
  liveness: 'up',
  scheduling: 'schedulable',
  labels: {},
  zone: 'z1',
  capacity: { cpuMillicores: 2000, memoryMiB: 2048 },
  ...over,
});
let n = 0;
const instance = (over: Partial<InstanceState> = {}): InstanceState => ({
  id: `i${++n}`,
  space: 's',
  app: 'web',
  version: 1,
  clusterId: CLUSTER,
  replaces: null,
  nodeId: null,
  phase: 'pending',
  reason: null,
  code: null,
  restarts: 0,
  host: null,
  hostPorts: [],
  startedAt: null,
  stopRequested: false,
  updatedAt: `2026-01-01T00:00:0${n % 10}.000Z`,
  ...over,
});
const snap = (s: Partial<Snapshot>): Snapshot => ({ apps: [], instances: [], nodes: [], ...s });
const kinds = (s: Snapshot) => plan(s).map((a) => a.kind);

describe('plan', () => {
  it('requests the missing instances of a version', () => {
    expect(plan(snap({ apps: [app()], nodes: [node('a')] }))).toEqual([
      { kind: 'request', space: 's', app: 'web', version: 1, clusterId: CLUSTER, replaces: null },
      { kind: 'request', space: 's', app: 'web', version: 1, clusterId: CLUSTER, replaces: null },
    ]);
  });

  it('spreads an app across nodes, then across zones, then by allocation', () => {
    const nodes = [node('a', { zone: 'z1' }), node('b', { zone: 'z1' }), node('c', { zone: 'z2' })];
    const pending = [instance(), instance(), instance()];
    const placed = plan(snap({ apps: [app({}, 3)], nodes, instances: pending })).filter(
      (a) => a.kind === 'place',
    );
    expect(placed.map((a) => (a.kind === 'place' ? a.nodeId : '')).sort()).toEqual(['a', 'b', 'c']);
    const first = plan(snap({ apps: [app({}, 1)], nodes, instances: [pending[0]!] }))[0];
    expect(first).toEqual({ kind: 'place', instanceId: pending[0]!.id, nodeId: 'a' });
    const withOneOnA = [instance({ nodeId: 'a', phase: 'ready' }), instance()];
    const second = plan(snap({ apps: [app({}, 2)], nodes, instances: withOneOnA })).find(
      (a) => a.kind === 'place',
    );
    expect(second).toMatchObject({ nodeId: 'c' }); // another zone beats another node of the same zone
  });

  it('explains why nothing fits, per node, and places as soon as capacity appears', () => {
    const big = app({}, 1, { resources: { cpu: 500, memory: 4096 } });
    const nodes = [node('a'), node('b'), node('c', { scheduling: 'cordoned' })];
    const i = instance();
    expect(plan(snap({ apps: [big], nodes, instances: [i] }))).toEqual([
      { kind: 'unschedulable', instanceId: i.id, reason: '0/3 nodes: 2 insufficient memory, 1 cordoned' },
    ]);
    const roomy = node('d', { capacity: { cpuMillicores: 4000, memoryMiB: 8192 } });
    expect(
      plan(snap({ apps: [big], nodes: [...nodes, roomy], instances: [{ ...i, phase: 'unschedulable' }] })),
    ).toEqual([{ kind: 'place', instanceId: i.id, nodeId: 'd' }]);
  });

  it('does not repeat an unschedulable verdict that has not changed', () => {
    const i = instance({ phase: 'unschedulable', reason: '0/0 nodes: the cluster has no nodes' });
    expect(plan(snap({ apps: [app({}, 1)], instances: [i] }))).toEqual([]);
  });

  it('counts allocations, including instances still stopping', () => {
    const nodes = [node('a', { capacity: { cpuMillicores: 1000, memoryMiB: 1024 } })];
    const running = instance({ nodeId: 'a', phase: 'ready' });
    const leaving = instance({ nodeId: 'a', phase: 'stopping', stopRequested: true });
    const pending = instance();
    expect(plan(snap({ apps: [app({}, 2)], nodes, instances: [running, leaving, pending] }))).toEqual([
      { kind: 'unschedulable', instanceId: pending.id, reason: '0/1 nodes: 1 insufficient cpu' },
    ]);
  });

  it('honours label constraints', () => {
    const constrained = app({}, 1, { placement: { constraints: ['disk==ssd', 'gpu!=(a b)'] } });
    const nodes = [
      node('a', { labels: { disk: 'hdd' } }),
      node('b', { labels: { disk: 'ssd', gpu: 'a' } }),
      node('c', { labels: { disk: 'ssd' } }),
    ];
    const i = instance();
    expect(plan(snap({ apps: [constrained], nodes, instances: [i] }))).toEqual([
      { kind: 'place', instanceId: i.id, nodeId: 'c' },
    ]);
  });

  it('places a large batch over many nodes within capacity, constraints and an even spread', () => {
    const zones = ['z1', 'z2', 'z3'];
    const nodes = Array.from({ length: 60 }, (_, k) =>
      node(`n${String(k).padStart(2, '0')}`, {
        zone: zones[k % 3]!,
        labels: { disk: k % 2 ? 'ssd' : 'hdd' },
        liveness: k === 7 ? 'lost' : 'up',
        scheduling: k === 8 ? 'cordoned' : 'schedulable',
        capacity: { cpuMillicores: 1000, memoryMiB: 4096 },
      }),
    );
    const other = node('elsewhere', { clusterId: 'c2' });
    const apps = [
      app({ app: 'web' }, 116, { resources: { cpu: 250, memory: 128 } }),
      app({ app: 'db' }, 58, {
        resources: { cpu: 250, memory: 256 },
        placement: { constraints: ['disk==ssd'] },
      }),
    ];
    const pending = [
      ...Array.from({ length: 116 }, () => instance({ app: 'web' })),
      ...Array.from({ length: 58 }, () => instance({ app: 'db' })),
    ];
    const actions = plan(snap({ apps, nodes: [...nodes, other], instances: pending }));
    const placed = actions.flatMap((a) => (a.kind === 'place' ? [a] : []));
    const byNode = new Map<string, string[]>();
    for (const a of placed) {
      const i = pending.find((p) => p.id === a.instanceId)!;
      byNode.set(a.nodeId, [...(byNode.get(a.nodeId) ?? []), i.app]);
    }
    expect(byNode.has('n07') || byNode.has('n08') || byNode.has('elsewhere')).toBe(false);
    for (const [id, list] of byNode) {
      expect(list.length * 250).toBeLessThanOrEqual(1000);
      if (list.includes('db')) expect(Number(id.slice(1)) % 2).toBe(1);
    }
    // 58 usable nodes (n07 lost, n08 cordoned), 29 of them ssd: spreading first puts web twice on
    // each, and db twice on each ssd node, which that fills exactly.
    const count = (id: string, name: string) => (byNode.get(id) ?? []).filter((a) => a === name).length;
    for (const { id } of nodes.filter((n) => n.id !== 'n07' && n.id !== 'n08')) {
      expect([id, count(id, 'web')]).toEqual([id, 2]);
      expect([id, count(id, 'db')]).toEqual([id, Number(id.slice(1)) % 2 ? 2 : 0]);
    }
    expect(placed).toHaveLength(174);
    expect(actions.filter((a) => a.kind === 'unschedulable')).toEqual([]);
  });

  it('replaces instances of a lost node elsewhere', () => {
    const nodes = [node('a', { liveness: 'lost' }), node('b')];
    const gone = instance({ nodeId: 'a', phase: 'ready' });
    const kept = instance({ nodeId: 'b', phase: 'ready' });
    const actions = plan(snap({ apps: [app()], nodes, instances: [gone, kept] }));
    expect(actions).toContainEqual({ kind: 'stop', instanceId: gone.id, reason: 'node-lost' });
    expect(actions).toContainEqual(expect.objectContaining({ kind: 'request', replaces: null }));
  });

  it('stops an instance asked to stop whose node was lost before its agent stopped it', () => {
    const nodes = [node('a', { liveness: 'lost' }), node('b')];
    const stranded = instance({ nodeId: 'a', phase: 'stopping', stopRequested: true });
    const waiting = instance({ nodeId: 'b', phase: 'stopping', stopRequested: true });
    const actions = plan(snap({ apps: [app()], nodes, instances: [stranded, waiting] }));
    expect(actions).toContainEqual({ kind: 'stop', instanceId: stranded.id, reason: 'node-lost' });
    expect(actions.filter((a) => a.kind === 'stop' && a.instanceId === waiting.id)).toEqual([]);
  });

  it('drains: a replacement first, the old instance only once the replacement is ready', () => {
    const nodes = [node('a', { scheduling: 'draining' }), node('b')];
    const old = instance({ nodeId: 'a', phase: 'ready' });
    expect(plan(snap({ apps: [app({}, 1)], nodes, instances: [old] }))).toEqual([
      { kind: 'request', space: 's', app: 'web', version: 1, clusterId: CLUSTER, replaces: old.id },
    ]);
    const starting = instance({ nodeId: 'b', phase: 'starting', replaces: old.id });
    expect(kinds(snap({ apps: [app({}, 1)], nodes, instances: [old, starting] }))).toEqual([]);
    const ready = { ...starting, phase: 'ready' as const };
    expect(plan(snap({ apps: [app({}, 1)], nodes, instances: [old, ready] }))).toEqual([
      { kind: 'stop', instanceId: old.id, reason: 'drain' },
    ]);
  });

  it('scales down the least useful instances first', () => {
    const nodes = [node('a')];
    const ready = instance({ nodeId: 'a', phase: 'ready' });
    const sick = instance({ nodeId: 'a', phase: 'unhealthy' });
    const pending = instance({ phase: 'unschedulable' });
    const actions = plan(snap({ apps: [app({}, 1)], nodes, instances: [ready, sick, pending] }));
    expect(actions).toEqual([
      { kind: 'stop', instanceId: pending.id, reason: 'scale-down' },
      { kind: 'stop', instanceId: sick.id, reason: 'scale-down' },
    ]);
  });

  it('scales down from the node that runs the most of the others, so that the spread survives', () => {
    // Two on a, one on b (the newest): stopping the newest would leave both on a, and a lost node a
    // would take every remaining instance with it.
    const nodes = [node('a'), node('b')];
    const a1 = instance({ nodeId: 'a', phase: 'ready', updatedAt: '2026-01-01T00:00:01.000Z' });
    const a2 = instance({ nodeId: 'a', phase: 'ready', updatedAt: '2026-01-01T00:00:02.000Z' });
    const b1 = instance({ nodeId: 'b', phase: 'ready', updatedAt: '2026-01-01T00:00:03.000Z' });
    expect(plan(snap({ apps: [app({}, 2)], nodes, instances: [a1, a2, b1] }))).toEqual([
      { kind: 'stop', instanceId: a2.id, reason: 'scale-down' },
    ]);
    // Down to one of four (three on a): two from a first, then the newest of what is left.
    const a3 = instance({ nodeId: 'a', phase: 'ready', updatedAt: '2026-01-01T00:00:04.000Z' });
    expect(plan(snap({ apps: [app({}, 1)], nodes, instances: [a1, a2, a3, b1] }))).toEqual([
      { kind: 'stop', instanceId: a3.id, reason: 'scale-down' },
      { kind: 'stop', instanceId: a2.id, reason: 'scale-down' },
      { kind: 'stop', instanceId: b1.id, reason: 'scale-down' },
    ]);
  });

  it('rebalances a settled app packed on one node: a replacement first, the old one once it is ready', () => {
    // Both on a, as after node b was lost and came back.
    const nodes = [node('a'), node('b')];
    const older = instance({ nodeId: 'a', phase: 'ready', updatedAt: '2026-01-01T00:00:01.000Z' });
    const newer = instance({ nodeId: 'a', phase: 'ready', updatedAt: '2026-01-01T00:00:02.000Z' });
    expect(plan(snap({ apps: [app()], nodes, instances: [older, newer] }))).toEqual([
      { kind: 'request', space: 's', app: 'web', version: 1, clusterId: CLUSTER, replaces: newer.id },
    ]);
    const pending = instance({ replaces: newer.id });
    expect(plan(snap({ apps: [app()], nodes, instances: [older, newer, pending] }))).toEqual([
      { kind: 'place', instanceId: pending.id, nodeId: 'b' },
    ]);
    const starting = { ...pending, nodeId: 'b', phase: 'starting' as const };
    expect(plan(snap({ apps: [app()], nodes, instances: [older, newer, starting] }))).toEqual([]);
    const ready = { ...starting, phase: 'ready' as const };
    expect(plan(snap({ apps: [app()], nodes, instances: [older, newer, ready] }))).toEqual([
      { kind: 'stop', instanceId: newer.id, reason: 'rebalance' },
    ]);
    const stopped = { ...newer, phase: 'stopped' as const, stopRequested: true };
    expect(plan(snap({ apps: [app()], nodes, instances: [older, stopped, ready] }))).toEqual([]);
  });

  it('does not rebalance by one, while anything is on its way, or towards a node that cannot take it', () => {
    const ready = (nodeId: string) => instance({ nodeId, phase: 'ready' });
    const packed = [ready('a'), ready('a')];
    const requests = (s: Snapshot, rebalance = true) =>
      plan(s, { rebalance }).filter((a) => a.kind === 'request');
    expect(requests(snap({ apps: [app()], nodes: [node('a'), node('b')], instances: packed }))).toHaveLength(
      1,
    );
    expect(
      requests(snap({ apps: [app()], nodes: [node('a'), node('b')], instances: packed }), false),
    ).toEqual([]);
    const threeTwo = [ready('a'), ready('a'), ready('a'), ready('b'), ready('b')];
    expect(
      requests(snap({ apps: [app({}, 5)], nodes: [node('a'), node('b')], instances: threeTwo })),
    ).toEqual([]);
    for (const b of [
      node('b', { scheduling: 'cordoned' }),
      node('b', { scheduling: 'draining' }),
      node('b', { liveness: 'left' }),
      node('b', { clusterId: 'other' }),
      node('b', { capacity: { cpuMillicores: 400, memoryMiB: 2048 } }),
      node('b', { labels: { disk: 'hdd' } }),
    ]) {
      const constrained = app({}, 2, { placement: { constraints: ['disk!=hdd'] } });
      expect(requests(snap({ apps: [constrained], nodes: [node('a'), b], instances: packed }))).toEqual([]);
    }
    const starting = instance({ nodeId: 'a', phase: 'starting' });
    const stopping = instance({ nodeId: 'a', phase: 'stopping', stopRequested: true });
    for (const busy of [starting, stopping]) {
      const instances = [...packed, busy];
      const desired = busy === starting ? 3 : 2;
      expect(requests(snap({ apps: [app({}, desired)], nodes: [node('a'), node('b')], instances }))).toEqual(
        [],
      );
    }
  });

  it('rebalances to an even spread in steps, never below the desired ready instances, and then rests', () => {
    // Five of v1 and three of v2 on a; b and c empty, c in another zone. The world follows the plan:
    // requests appear, placements start and become ready on the next pass, stops complete.
    const nodes = [node('a'), node('b'), node('c', { zone: 'z2' })];
    const web = app({
      versions: {
        1: { version: 1, spec: spec(), desired: 5, deleted: false, createdAt: 't' },
        2: { version: 2, spec: spec(), desired: 3, deleted: false, createdAt: 't' },
      },
      weights: { 1: 5000, 2: 5000 },
    });
    let instances = [
      ...Array.from({ length: 5 }, () => instance({ nodeId: 'a', phase: 'ready' })),
      ...Array.from({ length: 3 }, () => instance({ version: 2, nodeId: 'a', phase: 'ready' })),
    ];
    let passes = 0;
    for (;;) {
      const actions = plan(snap({ apps: [web], nodes, instances }));
      const moving = instances.some((i) => i.phase === 'starting' || i.phase === 'stopping');
      if (actions.length === 0 && !moving) break;
      expect(++passes).toBeLessThan(60);
      instances = instances.map((i) =>
        i.phase === 'starting' ? { ...i, phase: 'ready' } : i.stopRequested ? { ...i, phase: 'stopped' } : i,
      );
      for (const a of actions) {
        if (a.kind === 'request') instances.push(instance({ version: a.version, replaces: a.replaces }));
        const at = instances.findIndex((i) => 'instanceId' in a && i.id === a.instanceId);
        if (a.kind === 'place') instances[at] = { ...instances[at]!, nodeId: a.nodeId, phase: 'starting' };
        if (a.kind === 'stop') instances[at] = { ...instances[at]!, stopRequested: true, phase: 'stopping' };
      }
      for (const version of [1, 2]) {
        const serving = instances.filter((i) => i.version === version && i.phase === 'ready');
        expect(serving.length).toBeGreaterThanOrEqual(version === 1 ? 5 : 3);
      }
    }
    const live = instances.filter((i) => i.phase !== 'stopped');
    expect(live).toHaveLength(8);
    const perNode = ['a', 'b', 'c'].map((id) => live.filter((i) => i.nodeId === id).length);
    expect(Math.max(...perNode) - Math.min(...perNode)).toBeLessThanOrEqual(1);
  });

  it('stops everything of a deleted app, then completes the deletion', () => {
    const i = instance({ nodeId: 'a', phase: 'ready' });
    expect(plan(snap({ apps: [app({ deleting: true })], nodes: [node('a')], instances: [i] }))).toEqual([
      { kind: 'stop', instanceId: i.id, reason: 'app-deleted' },
    ]);
    expect(
      plan(
        snap({
          apps: [app({ deleting: true })],
          nodes: [node('a')],
          instances: [{ ...i, phase: 'stopped', stopRequested: true }],
        }),
      ),
    ).toEqual([{ kind: 'complete-deletion', space: 's', app: 'web' }]);
  });

  it('stops instances of a version scaled to zero', () => {
    const i = instance({ nodeId: 'a', phase: 'ready' });
    expect(plan(snap({ apps: [app({}, 0)], nodes: [node('a')], instances: [i] }))).toEqual([
      { kind: 'stop', instanceId: i.id, reason: 'version-stopped' },
    ]);
  });
});
