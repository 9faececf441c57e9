import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import { haproxyCommand } from './haproxy-socket';
import { type HaproxyPaths, logTail } from './haproxy-files';
import { parseShowProc, type ProcessList } from './show-proc';

const POLL_MS = 50;

/**
 * One HAProxy master process in master-worker mode (`haproxy -W -S <master socket>`): either started
 * here, or adopted from a previous router that died without stopping it. The master keeps the
 * listening sockets and hands them to each new worker, so a reload drops no connection.
 */
export class HaproxyMaster {
  private exitListener?: (reason: string) => void;
  private expectedExit = false;
  private readonly exited: Promise<string>;
  private poller?: NodeJS.Timeout;

  private constructor(
    readonly pid: number,
    private readonly paths: HaproxyPaths,
    child: ChildProcess | undefined,
  ) {
    this.exited = child
      ? new Promise((resolve) => {
          child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit code ${code}`));
          child.once('error', (error) => resolve(`could not run: ${error.message}`));
        })
      : new Promise((resolve) => {
          // Not our child: no exit event, so look.
          this.poller = setInterval(() => {
            if (!isRunning(this.pid)) resolve('exited');
          }, 500);
          this.poller.unref();
        });
    void this.exited.then((reason) => {
      clearInterval(this.poller);
      if (!this.expectedExit) this.exitListener?.(reason);
    });
  }

  /** Starts a master with the configuration in place and resolves once its worker serves. */
  static async spawn(binary: string, paths: HaproxyPaths, timeoutMs: number): Promise<HaproxyMaster> {
    await rename(paths.log, `${paths.log}.1`).catch(() => undefined);
    const log = openSync(paths.log, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(
        binary,
        ['-W', '-S', `${paths.masterSocket},mode,600`, '-f', paths.config, '-p', paths.pidFile],
        // Its own process group: a Ctrl-C meant for the router does not hard-stop the proxy.
        { stdio: ['ignore', log, log], detached: true },
      );
    } finally {
      closeSync(log);
    }
    if (child.pid === undefined) {
      const reason = await new Promise<string>((resolve) => child.once('error', (e) => resolve(e.message)));
      throw new Error(`could not start ${binary}: ${reason}`);
    }
    const master = new HaproxyMaster(child.pid, paths, child);
    try {
      await master.untilServing(timeoutMs, []);
    } catch (error) {
      await master.stop(0);
      throw error;
    }
    return master;
  }

  /**
   * The master a previous router left running on this state directory, if any: its pid file names a
   * live process started with our master socket, and that socket answers as that process.
   */
  static async adopt(paths: HaproxyPaths): Promise<HaproxyMaster | null> {
    const pid = Number((await readFile(paths.pidFile, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 0 || !isRunning(pid)) return null;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.split('\0').includes(`${paths.masterSocket},mode,600`)) return null;
    const list = await haproxyCommand(paths.masterSocket, 'show proc', 2000)
      .then(parseShowProc)
      .catch(() => null);
    return list?.masterPid === pid ? new HaproxyMaster(pid, paths, undefined) : null;
  }

  /** Called once if the master ends without `stop`. */
  onExit(listener: (reason: string) => void): void {
    this.exitListener = listener;
  }

  processes(): Promise<ProcessList> {
    return haproxyCommand(this.paths.masterSocket, 'show proc', 2000).then(parseShowProc);
  }

  /**
   * Has the master load the configuration on disk again (master CLI `reload`) and resolves once a new
   * worker serves it; the previous workers finish their open requests. Fails when HAProxy refuses the
   * configuration, in which case the previous workers keep serving.
   */
  async reload(timeoutMs: number): Promise<ProcessList> {
    const before = await this.processes();
    // The master re-executes itself and closes the connection: there is nothing to read.
    await haproxyCommand(this.paths.masterSocket, 'reload', 2000).catch(() => undefined);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = await this.processes().catch(() => null);
      if (now && now.reloads > before.reloads) {
        if (now.failedReloads > 0) {
          throw new Error(
            `HAProxy could not reload; the previous configuration serves:\n${await logTail(this.paths)}`,
          );
        }
        return this.untilServing(Math.max(0, deadline - Date.now()), before.workers);
      }
      await this.failIfExited();
      if (Date.now() > deadline) throw new Error(`HAProxy did not reload within ${timeoutMs} ms`);
      await sleep(POLL_MS);
    }
  }

  /**
   * Stops the master: a soft stop first (listeners close, open requests finish), then a hard one after
   * `graceMs`, then SIGKILL.
   */
  async stop(graceMs: number): Promise<void> {
    this.expectedExit = true;
    for (const [signal, waitMs] of [
      ['SIGUSR1', graceMs],
      ['SIGTERM', 2000],
      ['SIGKILL', 2000],
    ] as const) {
      if (!isRunning(this.pid)) break;
      try {
        process.kill(this.pid, signal);
      } catch {
        break;
      }
      if (await this.exitWithin(waitMs)) break;
    }
    clearInterval(this.poller);
  }

  /** Resolves once a worker other than `previous` answers on the runtime API socket. */
  private async untilServing(timeoutMs: number, previous: readonly number[]): Promise<ProcessList> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.failIfExited();
      const list = await this.processes().catch(() => null);
      const fresh = list?.masterPid === this.pid ? list.workers.filter((w) => !previous.includes(w)) : [];
      if (fresh.length > 0) {
        // The socket path belongs to whichever worker bound it last: wait for the new one.
        const info = await haproxyCommand(this.paths.statsSocket, 'show info', 1000).catch(() => '');
        const pid = Number(/^Pid: (\d+)$/m.exec(info)?.[1]);
        if (fresh.includes(pid)) return list!;
      }
      if (Date.now() > deadline) {
        throw new Error(`HAProxy does not serve after ${timeoutMs} ms:\n${await logTail(this.paths)}`);
      }
      await sleep(POLL_MS);
    }
  }

  private async failIfExited(): Promise<void> {
    const reason = await Promise.race([this.exited, sleep(0).then(() => null)]);
    if (reason !== null) throw new Error(`HAProxy exited (${reason}):\n${await logTail(this.paths)}`);
  }

  private async exitWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    try {
      return await Promise.race([this.exited.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Alive and not a zombie. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."; the command may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
