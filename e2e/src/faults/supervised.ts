import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { expectEventually } from '@pier/testing';

const LIB = join(__dirname, '..', '..', '..', 'deploy', 'local', 'lib.sh');

/**
 * A platform process run under deploy/local/lib.sh's `supervise`, the supervisor of the local
 * deployment: a process killed by a signal is started again (after SUPERVISE_MIN_DELAY), a stop
 * (SIGTERM to the supervisor) ends it for good. The fault suite kills the supervised process, never the
 * supervisor, exactly as a crash would.
 */
export class Supervised {
  private supervisor: ChildProcess | null = null;
  private log = '';

  constructor(
    readonly name: string,
    private readonly command: readonly string[],
    private readonly env: Record<string, string>,
  ) {}

  /** Starts the supervisor (nothing when it runs). */
  start(): void {
    if (this.running) return;
    const child = spawn(
      'bash',
      ['-c', 'source "$0" && supervise "$1" -- "${@:2}"', LIB, this.name, ...this.command],
      {
        env: { ...process.env, ...this.env, SUPERVISE_MIN_DELAY: '1', SUPERVISE_MAX_DELAY: '4' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const keep = (chunk: Buffer) => {
      this.log += chunk.toString();
      if (this.log.length > 400_000) this.log = this.log.slice(-200_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.supervisor = child;
  }

  /** Whether the supervisor runs (it keeps running while it restarts its process). */
  get running(): boolean {
    const s = this.supervisor;
    return !!s && s.exitCode === null && s.signalCode === null;
  }

  /** The pid of the supervised process the supervisor started last, once it has logged it. */
  pid(): number | null {
    const runs = [...this.log.matchAll(/: running \(pid (\d+), supervised by/g)];
    const last = runs[runs.length - 1];
    return last ? Number(last[1]) : null;
  }

  output(): string {
    return this.log;
  }

  /** SIGKILLs the supervised process (a crash); resolves with the pid it killed. */
  async crash(): Promise<number> {
    const pid = await expectEventually(
      () => {
        const p = this.pid();
        if (p === null) throw new Error(`${this.name}: no supervised process yet`);
        return p;
      },
      { timeoutMs: 10_000, what: `${this.name} running` },
    );
    process.kill(pid, 'SIGKILL');
    return pid;
  }

  /** A death nothing undoes: SIGKILL to the supervisor (so it restarts nothing), then to its process. */
  async killForGood(): Promise<void> {
    const s = this.supervisor;
    this.supervisor = null;
    const pid = this.pid();
    if (s && s.exitCode === null && s.signalCode === null) {
      const exited = new Promise((r) => s.once('exit', r));
      s.kill('SIGKILL');
      await exited;
    }
    try {
      if (pid) process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }

  /** Stops for good: SIGTERM to the supervisor, which passes it on and does not restart. */
  async stop(graceMs = 20_000): Promise<void> {
    const s = this.supervisor;
    this.supervisor = null;
    if (!s || s.exitCode !== null || s.signalCode !== null) return;
    const exited = new Promise((r) => s.once('exit', r));
    s.kill('SIGTERM');
    const timer = setTimeout(() => {
      const pid = this.pid();
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
      s.kill('SIGKILL');
    }, graceMs);
    await exited;
    clearTimeout(timer);
  }
}
