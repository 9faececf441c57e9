import { storedVersionSpecSchema } from '@pier/contracts';
import { expectEventually, type RunningProcess } from '@pier/testing';
import fc from 'fast-check';
import { assertProperty, hostileSpec } from './hostile-input';
import { type ReportedEvent, RuntimeHarness, webSpec } from './runtime-harness';
import { startWorker, waitForOutput } from './worker-process';

/**
 * Issue 9, finding 1: a tenant's spec must never end the agent. Generated hostile specs go, unchecked by
 * the API (as specs stored before its rules reach agents), to the real prober and the real instance
 * runtime, each in a process of its own that reports any error escaping it (CRASH, exit 70), since a
 * process's survival is what is at stake.
 */
describe('NetProber under generated hostile targets, in a process of its own', () => {
  it('answers every check in time, passes only what a server answered with 200, and never crashes', async () => {
    const worker = startWorker('prober-fuzz.worker.ts', { FUZZ_RUNS: '1000' });
    const code = await worker.exited;
    expect({ code, output: worker.output() }).toEqual({ code: 0, output: expect.stringContaining('RESULT') });
    // The property was exercised both ways: requests got through and were answered.
    const stats = JSON.parse(/RESULT (.*)/.exec(worker.output())![1]!) as { http: number; passed: number };
    expect(stats.http).toBe(1000);
    expect(stats.passed).toBeGreaterThan(50);
  }, 60_000);
});

/** Generated hostile specs per run: each runs (and restarts) containers, so few. */
const SPECS = 10;
/** Issue 9's own reproduction: the readiness probes that crashed every agent, again after each restart. */
const ISSUE_SPECS = [
  { path: '/a b', reason: 'Request path contains unescaped characters' },
  {
    path: '/',
    headers: { 'x-a': 'a\r\nInjected: 1' },
    reason: 'Invalid character in header content ["x-a"]',
  },
];
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/; // eslint-disable-line no-control-regex

/** Every string in an event, however deep. */
const strings = (value: unknown): string[] =>
  typeof value === 'string'
    ? [value]
    : value && typeof value === 'object'
      ? Object.values(value).flatMap(strings)
      : [];

describe('InstanceRuntime under generated hostile specs, in a process of its own', () => {
  const h = new RuntimeHarness('agent-hostile');
  const workers: RunningProcess[] = [];

  beforeAll(() => h.setUp());
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await h.tearDown();
  });

  async function startAgent(): Promise<RunningProcess> {
    const worker = startWorker('runtime.worker.ts', {
      WORKER_PREFIX: h.prefix,
      WORKER_NODE_ID: h.nodeId,
      WORKER_CREDENTIAL: h.credential,
    });
    workers.push(worker);
    await waitForOutput(worker, 'READY');
    return worker;
  }

  const alive = (worker: RunningProcess) =>
    expect({ exit: worker.child.exitCode ?? worker.child.signalCode, output: worker.output() }).toEqual({
      exit: null,
      output: expect.not.stringContaining('CRASH'),
    });

  /** Polls every instance's events together until `check` passes for all of them. */
  async function eventually(
    ids: readonly string[],
    check: (events: ReportedEvent[], id: string) => void,
    what: string,
    workersAlive: readonly RunningProcess[],
  ): Promise<void> {
    // A worker that dies fails the wait at once, with its output.
    const died = workersAlive.map((w) =>
      w.exited.then((exit) =>
        Promise.reject(new Error(`${what}: ${w.name} exited (${exit}):\n${w.output()}`)),
      ),
    );
    await Promise.race([
      expectEventually(
        async () => {
          const all = await Promise.all(ids.map((id) => h.events(id)));
          all.forEach((events, i) => check(events, ids[i]!));
        },
        { timeoutMs: 40_000, intervalMs: 500, what },
      ),
      ...died,
    ]);
  }

  it('survives them all, adopts their containers after a restart, reports failures as instance events and keeps serving', async () => {
    const readyWeb = webSpec({
      probes: { readiness: { http: { path: '/index.html', port: 8080 }, periodSeconds: 1 } },
    });
    await assertProperty(
      fc.asyncProperty(fc.array(hostileSpec, { minLength: SPECS, maxLength: SPECS }), async (specs) => {
        const healthy = await h.assign(readyWeb, { app: 'healthy' });
        const issue: string[] = [];
        for (const { path, headers } of ISSUE_SPECS) {
          const probe = { http: { path, port: 8080, ...(headers ? { headers } : {}) }, periodSeconds: 1 };
          issue.push(
            await h.assignStored(storedVersionSpecSchema.parse(webSpec({ probes: { readiness: probe } }))),
          );
        }
        // Half stored before the agent starts (read with its history), half while it runs.
        const ids: string[] = [];
        const assign = async (spec: unknown) => ids.push(await h.assignStored(spec, { app: 'hostile' }));
        for (const spec of specs.slice(0, SPECS / 2)) await assign(spec);
        const first = await startAgent();
        for (const spec of specs.slice(SPECS / 2)) await assign(spec);
        const readable = new Map(
          ids.map((id, i) => [id, storedVersionSpecSchema.safeParse(specs[i]).success]),
        );
        /** The issue's instances report, once per agent, that their probe cannot be sent. */
        const notSent = (notReady: number) =>
          eventually(
            issue,
            (events, id) => {
              const reasons = events.filter((e) => e.type === 'InstanceNotReady').map((e) => e.data.reason);
              const { path, reason } = ISSUE_SPECS[issue.indexOf(id)]!;
              expect(reasons).toHaveLength(notReady);
              expect(reasons.at(-1)).toMatch(`readiness probe failed: GET http://127.0.0.1:`);
              expect(reasons.at(-1)).toContain(`${path}: not sent: ${reason}`);
            },
            `issue 9's probes failed (${notReady} × InstanceNotReady)`,
            workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null),
          );

        // Every instance reports: a start, or why it cannot run (SPEC_INVALID for a spec no API accepted).
        await eventually(
          ids,
          (events, id) => {
            const types = events.map((e) => e.type);
            if (readable.get(id)) {
              expect(types.some((t) => t === 'InstanceStarted' || t === 'InstanceFailed')).toBe(true);
              expect(events.filter((e) => e.data.code === 'SPEC_INVALID')).toEqual([]);
            } else {
              expect(events.map((e) => [e.type, e.data.code])).toEqual([['InstanceFailed', 'SPEC_INVALID']]);
            }
          },
          'every hostile instance reported',
          [first],
        );
        await h.eventually(healthy, 'InstanceReady');
        const [startedHealthy] = await h.eventually(healthy, 'InstanceStarted');
        await notSent(1);
        // The probes of the running ones have run (each has a readiness probe: a transition shows it).
        const running = (await Promise.all(ids.map(async (id) => [id, await h.types(id)] as const)))
          .filter(([, types]) => types.includes('InstanceStarted'))
          .map(([id]) => id);
        await eventually(
          running,
          (events) =>
            expect(events.some((e) => e.data.probe !== undefined || e.type === 'InstanceExited')).toBe(true),
          'probes ran against every started hostile instance',
          [first],
        );

        // The agent restarts (killed, as by a crash): the next one adopts and probes the same containers.
        alive(first);
        await first.stop('SIGKILL');
        const seen = (await h.events(healthy)).length;
        const second = await startAgent();
        await expectEventually(
          async () => {
            alive(second);
            expect((await h.events(healthy)).slice(seen).map((e) => e.type)).toEqual(['InstanceReady']);
          },
          { timeoutMs: 30_000, intervalMs: 300, what: 'healthy instance adopted and probed again' },
        );
        await notSent(2);
        for (const id of issue) expect(await h.types(id)).not.toContain('InstanceExited');

        // Unassigned, every hostile instance stops (its hostile preStop included) and says so.
        for (const id of [...ids, ...issue]) await h.unassign(id);
        await eventually(
          [...ids, ...issue],
          (events) => expect(events.map((e) => e.type)).toContain('InstanceStopped'),
          'every hostile instance stopped',
          [second],
        );

        // The healthy instance never noticed, and the runtime still starts new work.
        const healthyTypes = await h.types(healthy);
        expect(healthyTypes.filter((t) => t === 'InstanceExited' || t === 'InstanceFailed')).toEqual([]);
        expect(healthyTypes.at(-1)).toBe('InstanceReady');
        expect((await h.containersOf(healthy)).map((c) => c.Id)).toEqual([startedHealthy!.data.containerId]);
        const later = await h.assign(readyWeb, { app: 'later' });
        await h.eventually(later, 'InstanceReady');

        // What the instances reported is storable text: no NUL, no terminal escapes from their output.
        for (const id of ids) {
          const texts = (await h.events(id)).flatMap((e) => strings(e.data));
          expect(texts.filter((t) => CONTROL.test(t))).toEqual([]);
        }

        alive(second);
        expect(await second.stop('SIGTERM', 20_000)).toBe(0);
        expect(second.output()).not.toContain('CRASH');
        await h.unassignAll();
      }),
      { numRuns: 1, endOnFailure: true },
    );
  }, 150_000);
});
