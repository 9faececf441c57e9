import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Logger } from '@pier/observability';

/** The containerd namespace Docker keeps its containers in. */
const DOCKER_NAMESPACE = 'moby';

/** Where dockerd's containerd listens: its own (started by dockerd), else the machine's. */
const CANDIDATE_SOCKETS = ['/var/run/docker/containerd/containerd.sock', '/run/containerd/containerd.sock'];

/**
 * Removes the containerd task of a container the Docker engine lost track of. When dockerd stops in the
 * middle of starting a container (a restart with `--live-restore`), containerd has already created the
 * container's task (its `runc init` holds the network namespace, with the address the engine gave it)
 * while the engine, restarted, only knows a container that was `created` and never ran. Docker 20.10
 * never removes that task: not on restore, not on `rm -f`, and a new `start` of the same container
 * fails with "id already in use". The engine then gives the stale address to the next container of the
 * network, two namespaces answer for it on the bridge, and the new container's published port refuses
 * connections (or answers from nothing) for good.
 *
 * Docker's API has no call for it, so this goes to containerd with its own client, `ctr`: the task is
 * killed and deleted, then the containerd container object. Only ever for a container the engine says
 * is `created`, so nothing the engine runs is touched.
 */
export class ContainerdTasks {
  constructor(
    private readonly socket: string,
    private readonly logger: Logger,
    private readonly ctr = 'ctr',
  ) {}

  /**
   * The containerd socket of the local engine (`setting` when given; `off` turns this off): none when
   * the engine is remote (`DOCKER_HOST` over TCP) or no candidate socket exists.
   */
  static socketFor(setting: string | undefined, dockerHost: string | undefined): string | null {
    if (setting === 'off') return null;
    if (setting) return setting;
    if (dockerHost && !dockerHost.startsWith('unix://')) return null;
    return CANDIDATE_SOCKETS.find((s) => existsSync(s)) ?? null;
  }

  /** Whether `ctr` answers on the socket: checked once at start, so that a missing client is said. */
  async available(): Promise<string | null> {
    const result = await this.run(['version']);
    return result.ok ? null : result.output;
  }

  /**
   * Kills and deletes the task of `containerId` (the full id), then its containerd container object;
   * true when there was a task. Never throws: a failure is logged and the engine's removal goes on.
   */
  async removeStale(containerId: string): Promise<boolean> {
    const task = await this.run(['task', 'delete', '--force', containerId]);
    if (!task.ok && isNotFound(task.output)) return false;
    if (!task.ok) {
      this.logger.warn({ containerId, output: task.output }, 'could not remove the stale containerd task');
      return false;
    }
    const container = await this.run(['container', 'delete', containerId]);
    if (!container.ok && !isNotFound(container.output))
      this.logger.warn(
        { containerId, output: container.output },
        'could not remove the containerd container',
      );
    this.logger.warn(
      { containerId },
      'removed a containerd task the engine had lost (a start cut by an engine restart)',
    );
    return true;
  }

  private run(args: readonly string[]): Promise<{ ok: boolean; output: string }> {
    return new Promise((resolve) => {
      execFile(
        this.ctr,
        ['--address', this.socket, '--namespace', DOCKER_NAMESPACE, ...args],
        { timeout: 15_000 },
        (error, stdout, stderr) =>
          resolve({ ok: !error, output: `${stdout}${stderr}`.trim().slice(-500) || String(error ?? '') }),
      );
    });
  }
}

const isNotFound = (output: string) => /not found/i.test(output);
