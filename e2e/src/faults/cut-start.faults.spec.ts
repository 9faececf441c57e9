import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { DockerDriver, LostStarts } from '@pier/agent';
import { createLogger } from '@pier/observability';
import { expectEventually, uniqueName } from '@pier/testing';
import { localDockerdPid, restartDockerd } from './own-infrastructure';

const run = promisify(execFile);

/**
 * A container start cut by a restart of the Docker engine (found by the fault suite's restart-dockerd
 * trials): containerd has created the container's task — its `runc init` holds a network namespace with
 * the address the engine gave it — when dockerd stops; the restarted engine knows only a `created`
 * container, and removing that container left the task behind for good. The engine then handed the
 * same address to the instance's next container, two namespaces answered for it on the bridge, and the
 * new container's published port refused connections: the instance never became ready.
 *
 * The test cuts starts for real: it starts a container and stops dockerd a moment later, adjusting the
 * moment until a start is cut between containerd's task and its start (the engine left with a `created`
 * container that has a task), then removes the container through the agent's driver and expects the
 * task and its process gone; and, as when containerd restarted and lost the task, the process gone
 * without containerd's help.
 */
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const installation = uniqueName('cut');
const label = { 'pier.installation': installation };
const socket = LostStarts.containerdSocketFor(undefined, undefined);
const MAX_TRIES = 40;

jest.setTimeout(2 * MAX_TRIES * 8000 + 60_000);

async function containerdTasks(): Promise<string[]> {
  const { stdout } = await run('ctr', ['--address', socket!, '--namespace', 'moby', 'task', 'ls', '-q']);
  return stdout.split('\n').filter(Boolean);
}

describe('a container start cut by a restart of the Docker engine', () => {
  const logger = createLogger('agent', 'warn');
  const lostStarts = new LostStarts({ containerdSocket: socket, logger });
  const created: string[] = [];
  let delayMs = 500;

  afterAll(async () => {
    // Whatever happened, nothing of the test stays: what a failure left goes too.
    for (const id of created) {
      await lostStarts.remove(id);
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  /**
   * Starts containers, stopping dockerd a moment after each start, until one start is cut between
   * containerd's task and its start: the engine left with a `created` container that has a task and a
   * process. Returns that container's id.
   */
  async function cutStart(): Promise<string> {
    const seen: string[] = [];
    for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
      const pid = await localDockerdPid();
      const container = await docker.createContainer({
        Image: 'pier/busybox:latest',
        Cmd: ['httpd', '-f', '-p', '8080'],
        Labels: label,
        HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
      });
      created.push(container.id);
      const starting = container.start().catch((error: Error) => error);
      await new Promise((r) => setTimeout(r, delayMs));
      await restartDockerd(pid);
      await starting;
      const state = (await container.inspect()).State.Status;
      const hasTask = (await containerdTasks()).includes(container.id);
      seen.push(`${delayMs} ms: ${state}${hasTask ? ' with a task' : ''}`);
      if (state === 'created' && hasTask && lostStarts.processes(container.id).length > 0) {
        process.stdout.write(`cut a start after ${seen.length} tries: ${seen.join('; ')}\n`);
        return container.id;
      }
      // Running: dockerd stopped too late; created without a task: too early.
      delayMs = Math.max(0, delayMs + (state === 'created' ? 40 : -40) + Math.round(Math.random() * 20 - 10));
      await container.remove({ force: true });
    }
    throw new Error(`no start was cut between task and start in ${MAX_TRIES} tries: ${seen.join('; ')}`);
  }

  beforeAll(async () => {
    expect(socket).not.toBeNull();
    // A running container, so that dockerd stops with --live-restore semantics (with none running, it
    // stops its containers as it exits, and no start is ever left half-done).
    const keeper = await docker.createContainer({
      Image: 'pier/busybox:latest',
      Cmd: ['sleep', '3600'],
      Labels: label,
    });
    created.push(keeper.id);
    await keeper.start();
  });

  it('leaves no containerd task and no process behind once the agent has removed the container', async () => {
    const cut = await cutStart();
    await new DockerDriver({ installation, lostStarts }).destroy(cut);
    expect(await new DockerDriver({ installation }).inspect(cut)).toBeNull();
    expect(await containerdTasks()).not.toContain(cut);
    expect(lostStarts.processes(cut)).toEqual([]);
  });

  it('kills what is left even when containerd has lost the task (it restarted with the engine)', async () => {
    const cut = await cutStart();
    // As if containerd did not know the task: only the container's cgroup says what still runs.
    const withoutContainerd = new LostStarts({ containerdSocket: null, logger });
    await new DockerDriver({ installation, lostStarts: withoutContainerd }).destroy(cut);
    expect(await new DockerDriver({ installation }).inspect(cut)).toBeNull();
    await expectEventually(() => expect(lostStarts.processes(cut)).toEqual([]), { timeoutMs: 5000 });
  });
});
