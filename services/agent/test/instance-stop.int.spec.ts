import { DrainInstance } from '@pier/contracts';
import { expectEventually, sigtermRecordingApp } from '@pier/testing';
import { RuntimeHarness, webSpec } from './runtime-harness';

/** The instance's log shows the order in which the preStop hook and SIGTERM came (see the fixture). */
const TERM_RECORDING_APP = sigtermRecordingApp('ok');

describe('InstanceRuntime: stopping instances', () => {
  const h = new RuntimeHarness('agent-stop');
  /** What the fake router saw when it was asked to drain. */
  const drains: { instanceId: string; at: number; typesThen: string[]; logThen: string }[] = [];
  let router: 'answers' | 'hangs' = 'answers';
  let release = () => undefined as void;
  const containers = new Map<string, string>();

  beforeAll(async () => {
    await h.setUp();
    h.server.handle(DrainInstance, async ({ instanceId }) => {
      const at = Date.now();
      const typesThen = await h.types(instanceId);
      const log = await h.execIn(containers.get(instanceId)!, [
        'sh',
        '-c',
        'cat /tmp/log 2>/dev/null || true',
      ]);
      drains.push({ instanceId, at, typesThen, logThen: log.output });
      if (router === 'hangs') {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 10_000);
          release = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return { instanceId, drained: true };
    });
    await h.startRuntime({ drainTimeoutMs: 1500 });
  });
  afterAll(async () => {
    release();
    await h.tearDown();
  });

  async function runningReady(instanceId: string): Promise<string> {
    const [started] = await h.eventually(instanceId, 'InstanceStarted');
    containers.set(instanceId, started!.data.containerId as string);
    await h.eventually(instanceId, 'InstanceReady');
    return started!.data.containerId as string;
  }

  it('drains, runs preStop, then SIGTERM, and kills after the grace period', async () => {
    const id = await h.assign(
      webSpec({
        command: ['sh', '-c', TERM_RECORDING_APP],
        probes: { readiness: { http: { path: '/index.html', port: 8080 }, periodSeconds: 1 } },
        stop: { gracePeriodSeconds: 2, preStop: { http: { path: '/cgi-bin/prestop', port: 8080 } } },
      }),
    );
    const containerId = await runningReady(id);
    await h.unassign(id);
    // preStop before SIGTERM, seen while the grace period runs.
    await expectEventually(
      async () => expect((await h.execIn(containerId, ['cat', '/tmp/log'])).output).toBe('prestop\nterm\n'),
      { timeoutMs: 10_000, intervalMs: 100, what: 'preStop, then SIGTERM' },
    );
    const [stopped] = await h.eventually(id, 'InstanceStopped');
    // Killed (128 + 9), not ended by SIGTERM.
    expect(stopped!.data.exitCode).toBe(137);
    // The drain came first: not ready already stored, preStop not run yet.
    expect(drains).toEqual([
      {
        instanceId: id,
        at: expect.any(Number),
        typesThen: ['InstanceStarted', 'InstanceReady', 'InstanceNotReady'],
        logThen: '',
      },
    ]);
    const graceTook = Date.parse(stopped!.occurredAt) - drains[0]!.at;
    expect(graceTook).toBeGreaterThanOrEqual(2000);
    expect(graceTook).toBeLessThan(12_000);
    expect(await h.types(id)).toEqual([
      'InstanceStarted',
      'InstanceReady',
      'InstanceNotReady',
      'InstanceStopped',
    ]);
    expect(await h.containersOf(id)).toEqual([]);
  });

  it('goes on with the stop when the router does not answer the drain in time', async () => {
    router = 'hangs';
    const id = await h.assign(webSpec({ stop: { gracePeriodSeconds: 1 } }));
    await runningReady(id);
    const unassignedAt = Date.now();
    await h.unassign(id);
    const [stopped] = await h.eventually(id, 'InstanceStopped');
    const took = Date.parse(stopped!.occurredAt) - unassignedAt;
    // The drain timeout (1.5 s) was waited out, the router's 10 s were not.
    expect(took).toBeGreaterThanOrEqual(1500);
    expect(took).toBeLessThan(9000);
    expect(drains.map((d) => d.instanceId)).toContain(id);
    expect(await h.containersOf(id)).toEqual([]);
  });
});
