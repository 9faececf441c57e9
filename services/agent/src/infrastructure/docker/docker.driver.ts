import Docker from 'dockerode';
import { type ContainerSpec } from '../../domain/container-spec';
import {
  type ContainerDriver,
  type ContainerState,
  type ContainerSummary,
  EngineUnreachableError,
  type ExecResult,
  type Fingerprint,
  type NetworkSummary,
  type RegistryAuth,
} from '../../application/ports';
import { LABELS } from '../../domain/container-labels';
import { type LocalImage, type RegistryAnswer } from '../../domain/image-access';
import { type LostStarts } from './lost-starts';
import { TeardownPacer } from './teardown-pacer';
import { execIn } from './docker-exec';
import { DockerImages } from './docker-images';
import { DockerNetworks, isNetworkRace } from './docker-networks';
import { containerState, createOptions, engineMessage, statusOf } from './docker-mapping';

const MiB = 1024 * 1024;

/** The Docker engine through dockerode: the only place in the agent that talks to Docker. */
export class DockerDriver implements ContainerDriver {
  private readonly docker: Docker;
  private readonly images: DockerImages;
  private readonly networks: DockerNetworks;
  /** `pier.installation` on everything this driver creates (none when unset). */
  private readonly installationLabel: Readonly<Record<string, string>>;

  /** Removes what is left of a start the engine lost (see `LostStarts`); none: not done. */
  private readonly lostStarts?: LostStarts;

  /** Stops and removals, a few at a time (see `TeardownPacer`). */
  private readonly teardown: TeardownPacer;

  constructor(
    options: {
      dockerHost?: string;
      installation?: string;
      lostStarts?: LostStarts;
      /** Stops and removals the engine runs at once; 0: as many as asked for. */
      teardownConcurrency?: number;
    } = {},
  ) {
    this.lostStarts = options.lostStarts;
    this.teardown = new TeardownPacer(options.teardownConcurrency ?? 0);
    this.docker = new Docker(dockerOptions(options.dockerHost));
    this.installationLabel = options.installation ? { [LABELS.installation]: options.installation } : {};
    this.images = new DockerImages(this.docker);
    this.networks = new DockerNetworks(this.docker, this.installationLabel);
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

  localImage(image: string): Promise<LocalImage | null> {
    return answered(this.images.local(image));
  }

  pullImage(image: string, auth?: RegistryAuth): Promise<void> {
    return answered(this.images.pull(image, auth));
  }

  recordCredentialedPull(image: string): Promise<void> {
    return this.images.recordCredentialedPull(image);
  }

  anonymousAccess(image: string): Promise<{ answer: RegistryAnswer; detail: string }> {
    return this.images.anonymousAccess(image);
  }

  async start(spec: ContainerSpec): Promise<ContainerState> {
    // Another agent of the engine may remove an empty network between our resolving and our start, or
    // briefly hold a duplicate of its name: resolving again settles both (within about 2 s, however
    // busy the engine).
    for (let attempt = 1; ; attempt++) {
      let network: { id: string; release: () => void } | undefined;
      try {
        network = await this.networks.acquire(spec.network);
        return await this.createAndStart(spec, network.id);
      } catch (error) {
        if (unanswered(error)) throw new EngineUnreachableError(engineMessage(error));
        if (attempt >= 10 || !isNetworkRace(error)) throw new Error(engineMessage(error));
        this.networks.forget(spec.network.name);
      } finally {
        network?.release();
      }
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }

  private async createAndStart(spec: ContainerSpec, networkId: string): Promise<ContainerState> {
    const options = createOptions(spec, networkId);
    options.Labels = { ...options.Labels, ...this.installationLabel };
    const container = await this.docker.createContainer(options);
    try {
      await container.start();
    } catch (error) {
      await this.destroy(container.id).catch(() => undefined);
      throw error;
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
    await this.teardown.run(async () => {
      try {
        await this.docker.getContainer(containerId).stop({ t: Math.max(0, Math.ceil(graceSeconds)) });
      } catch (error) {
        // 304: already stopped; 404: gone. Both are what was asked for.
        if (statusOf(error) !== 304 && statusOf(error) !== 404) throw new Error(engineMessage(error));
      }
    });
  }

  async destroy(containerId: string): Promise<void> {
    await this.teardown.run(async () => {
      await this.removeLostStart(containerId);
      try {
        await this.docker.getContainer(containerId).remove({ force: true, v: true });
      } catch (error) {
        const status = statusOf(error);
        if (status === 404) return;
        if (unanswered(error)) throw new EngineUnreachableError(engineMessage(error));
        // 409: a removal is already in progress.
        if (status === 409 && /already in progress/.test(engineMessage(error))) return;
        throw new Error(engineMessage(error));
      }
    });
  }

  /**
   * A container the engine says was created and never ran may still have a task and a process holding
   * its network address, from a start cut by an engine restart: removing only the container would leave
   * them behind for good (see `LostStarts`).
   */
  private async removeLostStart(containerId: string): Promise<void> {
    if (!this.lostStarts) return;
    const found = await this.docker
      .getContainer(containerId)
      .inspect()
      .catch(() => null);
    if (found?.State?.Status === 'created') await this.lostStarts.remove(found.Id);
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
    const found = await answered(
      this.docker.listContainers({
        all: true,
        filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) },
      }),
    );
    return found.map((c) => ({
      id: c.Id,
      labels: c.Labels ?? {},
      running: c.State === 'running',
      createdAt: c.Created * 1000,
    }));
  }

  /** Networks of this driver's installation only: another installation's are none of its business. */
  listNetworks(labels: Readonly<Record<string, string>>): Promise<NetworkSummary[]> {
    return this.networks.list({ ...labels, ...this.installationLabel });
  }

  removeUnusedNetwork(networkId: string): Promise<boolean> {
    return this.networks.removeUnused(networkId);
  }

  exec(containerId: string, command: readonly string[], timeoutMs: number): Promise<ExecResult> {
    return execIn(this.docker, containerId, command, timeoutMs);
  }
}

/** Socket errors of a call the engine never answered: nothing listens, or the connection dropped. */
const UNANSWERED = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE']);
const unanswered = (error: unknown) => UNANSWERED.has((error as { code?: string })?.code ?? '');

/** `call`, rejecting with `EngineUnreachableError` when the engine never answered it. */
async function answered<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw unanswered(error) ? new EngineUnreachableError(engineMessage(error)) : error;
  }
}

/** `DOCKER_HOST` as dockerode options: `unix:///path`, `tcp://host:port`, or the default socket. */
function dockerOptions(dockerHost: string | undefined): Docker.DockerOptions {
  if (!dockerHost) return { socketPath: '/var/run/docker.sock' };
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port || 2375), protocol: 'http' };
}
