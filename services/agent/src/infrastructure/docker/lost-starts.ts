import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Logger } from '@pier/observability';

/** The containerd namespace Docker keeps its containers in. */
const DOCKER_NAMESPACE = 'moby';

/** Where dockerd's containerd listens: its own (started by dockerd), else the machine's. */
const CANDIDATE_SOCKETS = ['/var/run/docker/containerd/containerd.sock', '/run/containerd/containerd.sock'];

/**
 * Where a container's processes are, relative to the cgroup root, for Docker's drivers: cgroupfs
 * (v1 under a controller, v2 unified) and systemd.
 */
const cgroupDirs = (id: string) => [
  `pids/docker/${id}`,
  `docker/${id}`,
  `system.slice/docker-${id}.scope`,
  `pids/system.slice/docker-${id}.scope`,
];

/**
 * Removes what is left of a container start the Docker engine lost. When dockerd stops in the middle of
 * starting a container (a restart with `--live-restore`), containerd has already created the container's
 * task: its `runc init` holds a network namespace with the address the engine gave the container. The
 * restarted engine only knows a container that was `created` and never ran. Docker 20.10 never removes
 * that task: not on restore, not on `rm -f`, and a new `start` of the container fails with "id already
 * in use"; when containerd restarted with the engine and lost the task's shim, containerd does not know
 * it either. The engine then gives the stale address to the next container of the network, two
 * namespaces answer for it on the bridge, and the new container's published port refuses connections
 * for good.
 *
 * Docker's API has no call for it. So, only ever for a container the engine says is `created` (nothing
 * of it should run): the task is killed and deleted with containerd's own client `ctr` when containerd
 * knows it, and whatever process is still in the container's cgroup is killed.
 */
export class LostStarts {
  constructor(
    private readonly options: {
      /** containerd's socket (see `containerdSocketFor`); null: no task is removed, processes still are. */
      readonly containerdSocket: string | null;
      readonly logger: Logger;
      readonly cgroupRoot?: string;
      readonly ctr?: string;
    },
  ) {}

  /**
   * The containerd socket of the local engine (`setting` when given; `off`: none): none when the engine
   * is remote (`DOCKER_HOST` over TCP) or no candidate socket exists.
   */
  static containerdSocketFor(setting: string | undefined, dockerHost: string | undefined): string | null {
    if (setting === 'off') return null;
    if (setting) return setting;
    if (!LostStarts.localEngine(dockerHost)) return null;
    return CANDIDATE_SOCKETS.find((s) => existsSync(s)) ?? null;
  }

  /** Whether the engine of `DOCKER_HOST` runs on this machine (a Unix socket): only then are its processes here. */
  static localEngine(dockerHost: string | undefined): boolean {
    return !dockerHost || dockerHost.startsWith('unix://');
  }

  /** Why `ctr` does not answer on `socket`, or null when it does (checked once at start). */
  static async ctrProblem(socket: string, ctr = 'ctr'): Promise<string | null> {
    const result = await runCtr(ctr, socket, ['version']);
    return result.ok ? null : result.output;
  }

  /**
   * Removes the task and the processes of `containerId` (the full id of a `created` container). Never
   * throws: a failure is logged and the engine's removal goes on.
   */
  async remove(containerId: string): Promise<void> {
    const task = this.options.containerdSocket ? await this.removeTask(containerId) : false;
    const killed = await this.killProcesses(containerId);
    if (task || killed.length > 0)
      this.options.logger.warn(
        { containerId, containerdTask: task, killed },
        'removed what was left of a container start the engine lost (an engine restart cut it)',
      );
  }

  /** The pids still in the container's cgroup. */
  processes(containerId: string): number[] {
    const root = this.options.cgroupRoot ?? '/sys/fs/cgroup';
    const pids = new Set<number>();
    for (const dir of cgroupDirs(containerId)) {
      try {
        for (const line of readFileSync(join(root, dir, 'cgroup.procs'), 'utf8').split('\n'))
          if (line.trim()) pids.add(Number(line));
      } catch {
        // not this driver's layout, or no such cgroup
      }
    }
    return [...pids];
  }

  private async removeTask(containerId: string): Promise<boolean> {
    const task = await this.ctr(['task', 'delete', '--force', containerId]);
    if (!task.ok) {
      if (!isNotFound(task.output))
        this.options.logger.warn({ containerId, output: task.output }, 'could not remove a containerd task');
      return false;
    }
    const container = await this.ctr(['container', 'delete', containerId]);
    if (!container.ok && !isNotFound(container.output))
      this.options.logger.warn(
        { containerId, output: container.output },
        'could not remove a containerd container',
      );
    return true;
  }

  private async killProcesses(containerId: string): Promise<number[]> {
    const killed: number[] = [];
    for (let round = 0; round < 20; round++) {
      const pids = this.processes(containerId);
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
          if (!killed.includes(pid)) killed.push(pid);
        } catch {
          // gone already
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return killed;
  }

  private ctr(args: readonly string[]): Promise<{ ok: boolean; output: string }> {
    return runCtr(this.options.ctr ?? 'ctr', this.options.containerdSocket ?? '', args);
  }
}

function runCtr(
  ctr: string,
  socket: string,
  args: readonly string[],
): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(
      ctr,
      ['--address', socket, '--namespace', DOCKER_NAMESPACE, ...args],
      { timeout: 15_000 },
      (error, stdout, stderr) =>
        resolve({ ok: !error, output: `${stdout}${stderr}`.trim().slice(-500) || String(error ?? '') }),
    );
  });
}

const isNotFound = (output: string) => /not found/i.test(output);
