import { randomBytes } from 'node:crypto';
import { type ContainerSpec } from '../../domain/container-spec';
import {
  type ContainerDriver,
  type ContainerState,
  type ContainerSummary,
  type ExecResult,
  type Fingerprint,
  type NetworkSummary,
} from '../../application/ports';
import { type LocalImage, type RegistryAnswer } from '../../domain/image-access';

export interface MemoryDriverOptions {
  readonly hostname: string;
  readonly capacity: Fingerprint['capacity'];
  /** First fake host port handed out; each published port takes the next one. Default 20000. */
  readonly firstHostPort?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

interface MemoryContainer {
  readonly name: string;
  readonly network: string;
  state: ContainerState;
  readonly createdAt: number;
  /** Resolved with the exit code once the container stops. */
  readonly exited: Promise<number | null>;
  readonly exit: (code: number | null) => void;
}

const ENGINE = { driver: 'memory', version: '1', os: 'memory', arch: process.arch, kernel: 'none' };

/**
 * A container engine that only keeps books: containers "start" at once and run until stopped, images are
 * always present and readable, networks are names, nothing listens on the published ports. It lets the real agent (joins, heartbeats,
 * assignments, reports) run by the thousand in one process to load the control plane — a hollow node, like
 * Kubernetes' kubemark. Probes that connect to a port therefore fail; exec probes succeed.
 */
export class MemoryDriver implements ContainerDriver {
  private readonly containers = new Map<string, MemoryContainer>();
  /** Container names in use, like the engine's (one container per name). */
  private readonly names = new Set<string>();
  /** Networks "created" by starts, by name (also their id here); removed once unused. */
  private readonly networks = new Map<string, number>();
  private nextPort: number;
  private readonly now: () => number;

  constructor(private readonly options: MemoryDriverOptions) {
    this.nextPort = options.firstHostPort ?? 20_000;
    this.now = options.now ?? Date.now;
  }

  /** How many containers exist (running or not). */
  get size(): number {
    return this.containers.size;
  }

  async fingerprint(): Promise<Fingerprint> {
    return { hostname: this.options.hostname, capacity: this.options.capacity, engine: ENGINE };
  }

  async localImage(_image: string): Promise<LocalImage | null> {
    return { id: 'sha256:memory', pulledWithCredentials: false };
  }

  async pullImage(_image: string): Promise<void> {}

  async recordCredentialedPull(_image: string): Promise<void> {}

  async anonymousAccess(_image: string): Promise<{ answer: RegistryAnswer; detail: string }> {
    return { answer: 'readable', detail: '' };
  }

  async start(spec: ContainerSpec): Promise<ContainerState> {
    if (this.names.has(spec.name)) {
      throw new Error(`Conflict. The container name "/${spec.name}" is already in use`);
    }
    const id = randomBytes(32).toString('hex');
    let exit!: (code: number | null) => void;
    const exited = new Promise<number | null>((resolve) => (exit = resolve));
    const now = this.now();
    const state: ContainerState = {
      id,
      labels: { ...spec.labels },
      running: true,
      exitCode: null,
      oomKilled: false,
      startedAt: now,
      finishedAt: null,
      error: '',
      ports: spec.ports.map((p) => ({ ...p, hostPort: this.nextPort++ })),
    };
    this.names.add(spec.name);
    this.containers.set(id, {
      name: spec.name,
      network: spec.network.name,
      state,
      createdAt: now,
      exited,
      exit,
    });
    if (!this.networks.has(spec.network.name)) this.networks.set(spec.network.name, now);
    return state;
  }

  wait(containerId: string, signal: AbortSignal): Promise<{ exitCode: number | null }> {
    const container = this.containers.get(containerId);
    if (!container) return Promise.reject(new Error(`no such container: ${containerId}`));
    if (signal.aborted) return Promise.reject(new Error('wait aborted'));
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new Error('wait aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      void container.exited.then((exitCode) => {
        signal.removeEventListener('abort', onAbort);
        resolve({ exitCode });
      });
    });
  }

  async stop(containerId: string, _graceSeconds = 0): Promise<void> {
    // A stopped container exits like a process ending on SIGTERM: 143.
    this.end(containerId, 143);
  }

  async destroy(containerId: string): Promise<void> {
    this.end(containerId, 137);
    const c = this.containers.get(containerId);
    if (c) this.names.delete(c.name);
    this.containers.delete(containerId);
  }

  async inspect(containerId: string): Promise<ContainerState | null> {
    return this.containers.get(containerId)?.state ?? null;
  }

  async list(labels: Readonly<Record<string, string>>): Promise<ContainerSummary[]> {
    const wanted = Object.entries(labels);
    const found: ContainerSummary[] = [];
    for (const c of this.containers.values()) {
      if (wanted.every(([k, v]) => c.state.labels[k] === v)) {
        found.push({
          id: c.state.id,
          labels: c.state.labels,
          running: c.state.running,
          createdAt: c.createdAt,
        });
      }
    }
    return found;
  }

  async listNetworks(_labels: Readonly<Record<string, string>>): Promise<NetworkSummary[]> {
    return [...this.networks].map(([name, createdAt]) => ({
      id: name,
      name,
      labels: {},
      createdAt,
      containers: this.attached(name),
    }));
  }

  async removeUnusedNetwork(networkId: string): Promise<boolean> {
    if (!this.networks.has(networkId) || this.attached(networkId) > 0) return false;
    return this.networks.delete(networkId);
  }

  private attached(network: string): number {
    return [...this.containers.values()].filter((c) => c.network === network).length;
  }

  async exec(containerId: string, _command: readonly string[] = [], _timeoutMs = 0): Promise<ExecResult> {
    const c = this.containers.get(containerId);
    if (!c?.state.running) throw new Error(`container ${containerId} is not running`);
    return { exitCode: 0, output: '' };
  }

  private end(containerId: string, exitCode: number): void {
    const c = this.containers.get(containerId);
    if (!c?.state.running) return;
    c.state = { ...c.state, running: false, exitCode, finishedAt: this.now() };
    c.exit(exitCode);
  }
}
