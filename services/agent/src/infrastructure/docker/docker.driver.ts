import Docker from 'dockerode';
import { type ContainerSpec } from '../../domain/container-spec';
import {
  type ContainerDriver,
  type ContainerState,
  type ContainerSummary,
  type ExecResult,
  type Fingerprint,
  type RegistryAuth,
} from '../../application/ports';
import { execIn } from './docker-exec';
import { containerState, createOptions, engineMessage, statusOf } from './docker-mapping';

const MiB = 1024 * 1024;

/** The Docker engine through dockerode: the only place in the agent that talks to Docker. */
export class DockerDriver implements ContainerDriver {
  private readonly docker: Docker;

  constructor(options: { dockerHost?: string } = {}) {
    this.docker = new Docker(dockerOptions(options.dockerHost));
  }

  async fingerprint(): Promise<Fingerprint> {
    const info = (await this.docker.info()) as {
      Name: string;
      NCPU: number;
      MemTotal: number;
      ServerVersion: string;
      OperatingSystem: string;
      Architecture: string;
      KernelVersion: string;
    };
    return {
      hostname: info.Name,
      capacity: { cpuMillicores: info.NCPU * 1000, memoryMiB: Math.floor(info.MemTotal / MiB) },
      engine: {
        driver: 'docker',
        version: info.ServerVersion,
        os: info.OperatingSystem,
        arch: info.Architecture,
        kernel: info.KernelVersion,
      },
    };
  }

  async hasImage(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  async pullImage(image: string, auth?: RegistryAuth): Promise<void> {
    const authconfig = auth
      ? { username: auth.username, password: auth.password, serveraddress: auth.server }
      : undefined;
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await this.docker.pull(image, authconfig ? { authconfig } : {})) as NodeJS.ReadableStream;
    } catch (error) {
      throw new Error(engineMessage(error));
    }
    // Docker answers 200 and reports a failure inside the progress stream.
    const output = await new Promise<{ error?: string }[]>((resolve, reject) =>
      this.docker.modem.followProgress(stream, (error: Error | null, out: { error?: string }[]) =>
        error ? reject(error) : resolve(out),
      ),
    );
    const failure = output.find((line) => line.error);
    if (failure) throw new Error(failure.error);
  }

  async start(spec: ContainerSpec): Promise<ContainerState> {
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(createOptions(spec));
    } catch (error) {
      throw new Error(engineMessage(error));
    }
    try {
      await container.start();
    } catch (error) {
      await this.destroy(container.id).catch(() => undefined);
      throw new Error(engineMessage(error));
    }
    return containerState(await container.inspect());
  }

  async wait(containerId: string, signal: AbortSignal): Promise<{ exitCode: number | null }> {
    const result = (await this.docker.getContainer(containerId).wait({ abortSignal: signal })) as {
      StatusCode?: number;
    };
    return { exitCode: typeof result?.StatusCode === 'number' ? result.StatusCode : null };
  }

  async stop(containerId: string, graceSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(containerId).stop({ t: Math.max(0, Math.ceil(graceSeconds)) });
    } catch (error) {
      // 304: already stopped; 404: gone. Both are what was asked for.
      if (statusOf(error) !== 304 && statusOf(error) !== 404) throw new Error(engineMessage(error));
    }
  }

  async destroy(containerId: string): Promise<void> {
    try {
      await this.docker.getContainer(containerId).remove({ force: true, v: true });
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return;
      // 409: a removal is already in progress.
      if (status === 409 && /already in progress/.test(engineMessage(error))) return;
      throw new Error(engineMessage(error));
    }
  }

  async inspect(containerId: string): Promise<ContainerState | null> {
    try {
      return containerState(await this.docker.getContainer(containerId).inspect());
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async list(labels: Readonly<Record<string, string>>): Promise<ContainerSummary[]> {
    const found = await this.docker.listContainers({
      all: true,
      filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) },
    });
    return found.map((c) => ({
      id: c.Id,
      labels: c.Labels ?? {},
      running: c.State === 'running',
      createdAt: c.Created * 1000,
    }));
  }

  exec(containerId: string, command: readonly string[], timeoutMs: number): Promise<ExecResult> {
    return execIn(this.docker, containerId, command, timeoutMs);
  }
}

/** `DOCKER_HOST` as dockerode options: `unix:///path`, `tcp://host:port`, or the default socket. */
function dockerOptions(dockerHost: string | undefined): Docker.DockerOptions {
  if (!dockerHost) return { socketPath: '/var/run/docker.sock' };
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port || 2375), protocol: 'http' };
}
