import { type ObservedContainer, planReconcile, type ReconcileInput } from './reconcile-plan';

const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';
const C = 'cccccccc-0000-4000-8000-000000000003';

const container = (id: string, instanceId: string | null, extra: Partial<ObservedContainer> = {}) => ({
  id,
  instanceId,
  restarts: 0,
  running: true,
  createdAt: 0,
  ...extra,
});

const input = (overrides: Partial<ReconcileInput>): ReconcileInput => ({
  desired: new Set(),
  active: new Set(),
  stopping: new Set(),
  containers: [],
  caughtUp: true,
  ...overrides,
});

describe('planReconcile', () => {
  it('launches assigned instances that nobody runs, and nothing else', () => {
    const plan = planReconcile(input({ desired: new Set([A, B]), active: new Set([B]) }));
    expect(plan).toEqual({ launch: [{ instanceId: A, adopt: null }], stop: [], remove: [] });
  });

  it('stops what runs but is no longer assigned, once', () => {
    const plan = planReconcile(
      input({ desired: new Set([A]), active: new Set([A, B]), stopping: new Set([C]) }),
    );
    expect(plan.stop).toEqual([B]);
    expect(plan.launch).toEqual([]);
  });

  it('waits for a stopping runner before launching the same instance again', () => {
    const plan = planReconcile(input({ desired: new Set([A]), stopping: new Set([A]) }));
    expect(plan.launch).toEqual([]);
  });

  it('adopts the running container of an instance and removes its other containers', () => {
    const exited = container('old', A, { running: false, restarts: 3, createdAt: 5 });
    const running = container('live', A, { restarts: 2, createdAt: 1 });
    const plan = planReconcile(input({ desired: new Set([A]), containers: [exited, running] }));
    expect(plan.launch).toEqual([{ instanceId: A, adopt: running }]);
    expect(plan.remove).toEqual([{ container: exited, why: 'duplicate' }]);
  });

  it('among stopped containers keeps the latest restart', () => {
    const first = container('first', A, { running: false, restarts: 1, createdAt: 9 });
    const second = container('second', A, { running: false, restarts: 2, createdAt: 1 });
    expect(planReconcile(input({ desired: new Set([A]), containers: [first, second] })).launch).toEqual([
      { instanceId: A, adopt: second },
    ]);
  });

  it('removes strays once caught up: unassigned instances and unlabelled containers', () => {
    const stray = container('stray', C);
    const unlabelled = container('anon', null);
    const runnerOwned = container('mine', B);
    const containers = [stray, unlabelled, runnerOwned];
    const base = { desired: new Set<string>(), stopping: new Set([B]), containers };
    expect(planReconcile(input({ ...base, caughtUp: false })).remove).toEqual([]);
    expect(planReconcile(input(base)).remove).toEqual([
      { container: stray, why: 'unassigned' },
      { container: unlabelled, why: 'unlabelled' },
    ]);
  });

  it('keeps the container of an instance that is assigned but not launched yet', () => {
    const plan = planReconcile(input({ desired: new Set([A]), containers: [container('x', A)] }));
    expect(plan.remove).toEqual([]);
  });
});
