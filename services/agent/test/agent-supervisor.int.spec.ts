import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectEventually } from '@pier/testing';

const LIB = join(__dirname, '../../../deploy/local/lib.sh');

/**
 * The supervisor deploy/local/agent.sh runs the agent under (lib.sh `supervise`), driving a stand-in
 * for the agent: a script that logs each start (with its pid and whether it got the join token) to a
 * file, then does what its run number says.
 */
describe('deploy/local supervise: restarts a crashed agent, never a stopped one', () => {
  let dir: string;
  let supervisor: ChildProcess | undefined;
  let output = '';

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pier-supervise-'));
    output = '';
  });
  afterEach(() => {
    // Its own process group: whatever is left of it (a stand-in of a failed test) goes too.
    try {
      process.kill(-supervisor!.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts `supervise` on a stand-in whose run N executes `behaviour[N - 1]` (the last one after that). */
  function supervise(behaviour: string[], env: Record<string, string> = {}) {
    const script = join(dir, 'agent.sh');
    writeFileSync(
      script,
      [
        '#!/usr/bin/env bash',
        `runs="${dir}/runs"`,
        'touch "$runs"',
        `export READY_FILE="${dir}/ready"`,
        'n=$(( $(wc -l <"$runs") + 1 ))',
        'echo "start $n pid=$$ token=${PIER_AGENT_JOIN_TOKEN:-}" >>"$runs"',
        'case $n in',
        ...behaviour.map((b, i) => `  ${i + 1 < behaviour.length ? i + 1 : '*'}) ${b} ;;`),
        'esac',
      ].join('\n'),
    );
    chmodSync(script, 0o755);
    supervisor = spawn(
      'bash',
      [
        '-c',
        'source "$1" && shift && supervise "$@"',
        'supervise',
        LIB,
        'agent test',
        '--forget',
        'PIER_AGENT_JOIN_TOKEN',
        '--',
        script,
      ],
      {
        env: { ...process.env, PIER_STATE_DIR: dir, PIER_AGENT_JOIN_TOKEN: 'single-use', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    supervisor.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    supervisor.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return new Promise<number | string>((resolve) =>
      supervisor!.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
    );
  }

  const starts = () =>
    readFileSync(join(dir, 'runs'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => /^start (\d+) pid=(\d+) token=(.*)$/.exec(line)!.slice(1));
  /**
   * An agent that runs until SIGTERM, then leaves cleanly like the real one (exit 0): one process, which
   * writes `ready` once it handles SIGTERM.
   */
  const untilStopped =
    `exec node -e "process.on('SIGTERM', () => process.exit(0)); ` +
    `require('fs').appendFileSync(process.env.READY_FILE, 'ready\\n'); setInterval(() => {}, 1e6)"`;
  const waitForReady = (count: number) =>
    expectEventually(
      () => expect(readFileSync(join(dir, 'ready'), 'utf8').trim().split('\n')).toHaveLength(count),
      { timeoutMs: 15_000, intervalMs: 100 },
    );

  it('restarts an agent killed with SIGKILL, without the join token, and stops both on SIGTERM', async () => {
    const exited = supervise([untilStopped]);
    await waitForReady(1);
    const [[, firstPid, firstToken]] = starts() as [string[]];
    process.kill(Number(firstPid), 'SIGKILL');
    await waitForReady(2);
    const [, [, secondPid, secondToken]] = starts() as [string[], string[]];
    expect([firstToken, secondToken]).toEqual(['single-use', '']);
    expect(output).toMatch(
      /agent test: exited abnormally \(killed by SIGKILL\) after \d+s; restarting in 1s/,
    );

    supervisor!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toMatch(/agent test: stopped on SIGTERM \(exit code 0\); not restarting/);
    // The supervisor is gone, and the agent with it: nothing is left to restart it.
    expect(() => process.kill(Number(secondPid), 0)).toThrow();
    expect(starts()).toHaveLength(2);
  });

  it('backs off 1 s doubling up to the maximum, and from 1 s again after a run that lasted', async () => {
    // Uptimes are whole seconds ($SECONDS): a short run counts 0 or 1 s, the long one at least 2.
    const exited = supervise(['exit 1', 'exit 70', 'sleep 2.5; exit 1', untilStopped], {
      SUPERVISE_MAX_DELAY: '2',
      SUPERVISE_RESET_AFTER: '2',
    });
    await waitForReady(1);
    expect(output.match(/exited abnormally .*/g)).toEqual([
      expect.stringMatching(/^exited abnormally \(exit code 1\) after [01]s; restarting in 1s$/),
      expect.stringMatching(/^exited abnormally \(exit code 70\) after [01]s; restarting in 2s$/),
      expect.stringMatching(/^exited abnormally \(exit code 1\) after [23]s; restarting in 1s$/),
    ]);
    supervisor!.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it.each([
    [0, 'exit code 0'],
    [2, 'exit code 2'],
    [3, 'exit code 3'],
  ])(
    'does not restart an agent that exits with %p (a restart would end the same way)',
    async (code, words) => {
      expect(await supervise([`exit ${code}`])).toBe(code);
      expect(starts()).toHaveLength(1);
      expect(output).toMatch(
        new RegExp(
          `agent test: exited \\(${words}\\) after \\d+s; a restart would not change that, not restarting`,
        ),
      );
    },
  );

  it('stops while waiting to restart', async () => {
    const exited = supervise(['exit 1'], { SUPERVISE_MIN_DELAY: '30' });
    await expectEventually(() => expect(output).toContain('restarting in 30s'), { timeoutMs: 10_000 });
    supervisor!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('agent test: stopped on SIGTERM while waiting to restart');
    expect(starts()).toHaveLength(1);
  });
});
