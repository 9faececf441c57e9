import { versionSpecSchema } from '@pier/contracts';
import { createLogger } from '@pier/observability';
import { expectEventually } from '@pier/testing';
import { DEFAULT_BACKOFF } from '../../domain/restart-backoff';
import { type ContainerDriver, type ContainerState } from '../ports';
import { type ContainerChecks } from './container-checks';
import { type ContainerLauncher, type LaunchResult } from './container-launcher';
import { type InstanceReports } from './instance-reports';
import { ENGINE_RETRY_MS, InstanceRunner } from './instance-runner';

const assignment = {
  nodeId: '11111111-1111-4111-8111-111111111111',
  instanceId: '22222222-2222-4222-8222-222222222222',
  space: 'acme',
  app: 'web',
  version: 1,
  spec: versionSpecSchema.parse({ image: 'acme/web:1' }),
};

const container: ContainerState = {
  id: 'c1',
  labels: {},
  running: true,
  exitCode: null,
  oomKilled: false,
  startedAt: Date.now(),
  finishedAt: null,
  error: '',
  ports: [],
};

/** A runner whose launches answer `results` in turn (the last one from then on); records when each ran. */
function runnerLaunching(results: LaunchResult[]) {
  const launches: number[] = [];
  /** Whether each launch was to look for leftover containers of the instance first. */
  const leftovers: boolean[] = [];
  const reported: string[] = [];
  /** Each drain asked: the reports stored by then, and the position it was asked to wait for. */
  const drains: { reported: string[]; after: number | undefined }[] = [];
  let stored = 0;
  const launcher = {
    launch: async (_assignment: unknown, _restarts: number, options: { leftovers: boolean }) => {
      launches.push(Date.now());
      leftovers.push(options.leftovers);
      return results[Math.min(launches.length - 1, results.length - 1)]!;
    },
  } as unknown as ContainerLauncher;
  const driver = {
    wait: (_id: string, signal: AbortSignal) =>
      new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
    inspect: async () => container,
    stop: async () => undefined,
    destroy: async () => undefined,
  } as unknown as ContainerDriver;
  // Reports are stored at flush, the n-th at stream position 100 + n.
  const reports = {
    report: (type: { type: string }) => void reported.push(type.type),
    settle: async () => undefined,
    flush: async () => void (stored = reported.length),
    get position() {
      return stored === 0 ? undefined : 100 + stored;
    },
    startedContainer: async () => null,
  } as unknown as InstanceReports;
  const runner = new InstanceRunner(
    assignment,
    {
      driver,
      launcher,
      checks: {} as ContainerChecks,
      platform: {
        revealSecret: async () => undefined,
        drainInstance: async (_id, _timeoutMs, after) => {
          drains.push({ reported: reported.slice(0, stored), after });
          return 'drained';
        },
      },
      reports,
      logger: createLogger('test', 'silent'),
    },
    { advertiseHost: '127.0.0.1', backoff: DEFAULT_BACKOFF, drainTimeoutMs: 0, bootTimeoutMs: 0 },
    null,
  );
  return { runner, launches, leftovers, reported, drains };
}

describe('InstanceRunner', () => {
  it('starts again soon, off the crash-loop back-off, when the engine did not answer a start', async () => {
    const { runner, launches } = runnerLaunching([
      { ok: false, code: 'ENGINE_UNAVAILABLE', reason: 'socket hang up', engineUnreachable: true },
      { ok: false, code: 'ENGINE_UNAVAILABLE', reason: 'socket hang up', engineUnreachable: true },
      { ok: true, container },
    ]);
    runner.start();
    try {
      await expectEventually(() => expect(launches).toHaveLength(3), {
        timeoutMs: 3 * ENGINE_RETRY_MS + 1000,
      });
      expect(launches[2]! - launches[0]!).toBeLessThan(DEFAULT_BACKOFF.baseMs);
    } finally {
      await runner.detach();
    }
  });

  it('asks the routers to drain on a table that holds its not-ready report (its stream position)', async () => {
    const { runner, launches, drains } = runnerLaunching([{ ok: true, container }]);
    runner.start();
    await expectEventually(() => expect(launches).toHaveLength(1));
    await runner.stop('scaled down');
    expect(drains).toHaveLength(1);
    const [drain] = drains;
    expect(drain!.reported.at(-1)).toBe('InstanceNotReady');
    expect(drain!.after).toBe(100 + drain!.reported.length);
  });

  it('skips the leftovers check at its first launch only (its pass saw no container of the instance)', async () => {
    const { runner, launches, leftovers } = runnerLaunching([
      { ok: false, code: 'ENGINE_UNAVAILABLE', reason: 'socket hang up', engineUnreachable: true },
      { ok: true, container },
    ]);
    runner.start();
    try {
      await expectEventually(() => expect(launches).toHaveLength(2), { timeoutMs: ENGINE_RETRY_MS + 2000 });
      // A start the engine did not answer may have left a container behind: the next launch looks.
      expect(leftovers).toEqual([false, true]);
    } finally {
      await runner.detach();
    }
  });

  it('backs off after a start the engine refused', async () => {
    const { runner, launches } = runnerLaunching([
      { ok: false, code: 'CONTAINER_START_FAILED', reason: 'exec: "nope": executable file not found' },
      { ok: true, container },
    ]);
    runner.start();
    try {
      await new Promise((r) => setTimeout(r, 3 * ENGINE_RETRY_MS));
      expect(launches).toHaveLength(1);
    } finally {
      await runner.detach();
    }
  });
});
