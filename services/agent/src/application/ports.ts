import { type Capacity, type Engine, type InstanceEvent, type NodeAssignmentEvent } from '@pier/contracts';
import { type ContainerSpec } from '../domain/container-spec';
import { type LocalImage, type RegistryAnswer } from '../domain/image-access';

/** What the container engine of this node offers. */
export interface Fingerprint {
  readonly hostname: string;
  readonly capacity: Capacity;
  readonly engine: Engine;
}

/** Credentials for one registry, as `docker login` takes them. */
export interface RegistryAuth {
  readonly server: string;
  readonly username: string;
  readonly password: string;
}

/** A published port: `containerPort/protocol` reachable on the node at `hostPort`. */
export interface PublishedPort {
  readonly containerPort: number;
  readonly protocol: 'tcp' | 'udp';
  readonly hostPort: number;
}

/** What the engine knows about one container. Times are epoch milliseconds. */
export interface ContainerState {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly running: boolean;
  /** Null while it runs (or when it never ran). */
  readonly exitCode: number | null;
  /** The kernel's OOM killer ended it because of its memory limit. */
  readonly oomKilled: boolean;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  /** The engine's error when it could not run the process, else empty. */
  readonly error: string;
  readonly ports: readonly PublishedPort[];
  /** The container's addresses on its networks (empty when the engine gives none, or it is not running). */
  readonly addresses?: readonly string[];
}

/** A container as listed: enough to decide whom it belongs to. */
export interface ContainerSummary {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly running: boolean;
  readonly createdAt: number;
}

/** A network as listed. */
export interface NetworkSummary {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  /** Containers attached, running or not. */
  readonly containers: number;
}

export interface ExecResult {
  /** Null when the command did not end within its timeout. */
  readonly exitCode: number | null;
  /** The first few KiB of stdout and stderr together. */
  readonly output: string;
}

/**
 * The container engine behind the agent, with Nomad's driver verbs. Implementations translate a
 * `ContainerSpec` for their engine and report what the engine says; every decision (names, labels,
 * limits, when to restart) is taken by the caller.
 */
export interface ContainerDriver {
  /** Probes the engine: fails when it cannot be reached. */
  fingerprint(): Promise<Fingerprint>;
  /**
   * The image the engine holds under exactly this reference (by tag or digest), or null. An image the
   * engine would find only by its id (`sha256:…`, a short id) counts as absent: a reference must never
   * reach another repository's image.
   */
  localImage(image: string): Promise<LocalImage | null>;
  /**
   * Pulls an image, with credentials for its registry when given (for a cached image, a manifest check
   * against the registry); resolves once it is complete and rejects with the registry's reason (unknown
   * image, denied, unreachable).
   */
  pullImage(image: string, auth?: RegistryAuth): Promise<void>;
  /**
   * Records that the image now cached under this reference was pulled with credentials, where it lives
   * as long as the image does (agent restarts and other agents of the engine see it).
   */
  recordCredentialedPull(image: string): Promise<void>;
  /** Asks the image's registry for its manifest without credentials, pulling nothing. */
  anonymousAccess(image: string): Promise<{ answer: RegistryAnswer; detail: string }>;
  /**
   * Creates the container on its network (creating that network first when it does not exist, safe
   * against concurrent launches) and starts it (the image must be present). When the engine cannot start
   * the process (executable not found…), the created container is removed and the call rejects with the
   * engine's message. Resolves with the state right after the start, published ports included. Rejects
   * with `EngineUnreachableError` when the engine did not answer at all (see there).
   */
  start(spec: ContainerSpec): Promise<ContainerState>;
  /**
   * Resolves with the exit code once the container is not running (at once if it already stopped);
   * rejects when `signal` aborts or the engine loses the container.
   */
  wait(containerId: string, signal: AbortSignal): Promise<{ exitCode: number | null }>;
  /**
   * Sends SIGTERM (or the image's stop signal), then SIGKILL after `graceSeconds`; resolves once the
   * container stopped. A container that is not running (or is gone) is no error.
   */
  stop(containerId: string, graceSeconds: number): Promise<void>;
  /** Removes the container, killing it if it still runs. A container that is gone is no error. */
  destroy(containerId: string): Promise<void>;
  /** The container's current state, or null when it does not exist. */
  inspect(containerId: string): Promise<ContainerState | null>;
  /**
   * Every container, running or not, carrying all of `labels`: what an agent recovers from after a
   * restart.
   */
  list(labels: Readonly<Record<string, string>>): Promise<ContainerSummary[]>;
  /** Networks carrying all of `labels`, with how many containers (in any state) are attached. */
  listNetworks(labels: Readonly<Record<string, string>>): Promise<NetworkSummary[]>;
  /**
   * Removes a network unless a container (in any state) is attached to it or a launch on this driver is
   * creating one on it; resolves with whether it was removed. A network that is gone is no error.
   */
  removeUnusedNetwork(networkId: string): Promise<boolean>;
  /**
   * Runs a command inside a running container and waits at most `timeoutMs` for it. A command that is
   * still running then is abandoned (the engine offers no way to kill it) and reported with a null exit
   * code.
   */
  exec(containerId: string, command: readonly string[], timeoutMs: number): Promise<ExecResult>;
}

/** The node identity kept on local disk, so a restarted agent comes back as the same node. */
export interface NodeIdentity {
  readonly nodeId: string;
  /** Secret the agent proves itself with; the control plane keeps only its SHA-256. */
  readonly credential: string;
  /** Set once the join has been accepted. */
  readonly clusterId?: string;
}

export interface IdentityStore {
  read(): Promise<NodeIdentity | null>;
  write(identity: NodeIdentity): Promise<void>;
}

export interface AgentFacts {
  readonly hostname: string;
  readonly capacity: Capacity;
  readonly engine: Engine;
  readonly agentVersion: string;
}

export interface JoinAccepted {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly heartbeatIntervalMs: number;
}

/** The control plane as the agent sees it. All calls are outbound: nothing ever connects to a node. */
export interface ControlPlane {
  join(
    request: AgentFacts & {
      token: string;
      nodeId: string;
      credential: string;
      name: string;
      labels: Record<string, string>;
      zone: string;
    },
  ): Promise<JoinAccepted>;
  rejoin(request: AgentFacts & { nodeId: string; credential: string }): Promise<JoinAccepted>;
  leave(request: { nodeId: string; credential: string; reason: string }): Promise<void>;
  heartbeat(beat: { nodeId: string; clusterId: string; seq: number; sentAt: string }): void;
}

/** The assignment events of this node, in order, from the first one on. */
export interface AssignmentFeed {
  /**
   * Replays every assignment event of the node, then follows new ones; `onEvent` is called once per
   * event, in order, and never concurrently.
   */
  start(onEvent: (event: NodeAssignmentEvent) => void): Promise<void>;
  /** Whether every assignment event written so far has been handed to `onEvent`. */
  caughtUp(): Promise<boolean>;
  stop(): Promise<void>;
}

/** Where the agent records what happened to an instance (its own aggregate). */
export interface InstanceEventLog {
  /**
   * Appends without a version check (the agent is the only writer of these facts about its instances);
   * resolves to the event's position in the event stream.
   */
  append(instanceId: string, event: InstanceEvent): Promise<number>;
  /**
   * The container of the instance's last stored `InstanceStarted`, or null: what the platform knows of
   * where the instance runs (an agent killed before its report was stored leaves it behind).
   */
  startedContainer(instanceId: string): Promise<string | null>;
}

/** How a drain request ended; it never fails a stop. */
export type DrainOutcome = 'drained' | 'no-router' | 'timed-out' | 'failed';

/** Control-plane calls the runtime needs, made as this node with its credential. */
export interface PlatformServices {
  /** The decrypted value of a secret of `space`; rejects with a `PierError` (SECRET_NOT_FOUND…). */
  revealSecret(space: string, name: string): Promise<unknown>;
  /**
   * Asks the routers to take the instance out of rotation, waiting at most `timeoutMs`; `after` is the
   * position of the latest stored report about it, which the routers' tables reach first.
   */
  drainInstance(instanceId: string, timeoutMs: number, after?: number): Promise<DrainOutcome>;
}

/** Result of one check of a container from the node. */
export interface CheckResult {
  readonly ok: boolean;
  readonly detail: string;
  /** The published port refused while the container accepted on its own address. */
  readonly portMappingLost?: boolean;
  /** The published port refused the connection (nothing accepted it there). */
  readonly refused?: boolean;
}

/** Checks over the network against a published port on this node. */
export interface NetworkProber {
  /** GET; success is a status in [200, 400); no answer within `timeoutMs` is a failure. */
  http(
    target: { host: string; port: number; path: string; headers?: Readonly<Record<string, string>> },
    timeoutMs: number,
  ): Promise<CheckResult>;
  /** A TCP connection that the other side keeps open; no connection within `timeoutMs` is a failure. */
  tcp(target: { host: string; port: number }, timeoutMs: number): Promise<CheckResult>;
}

/**
 * The engine did not answer: its socket refused, or the connection dropped before an answer (the engine
 * restarting). Nothing is known about the container; it says nothing about the app, so the attempt is
 * retried soon and counts nothing towards the app's crash-loop back-off.
 */
export class EngineUnreachableError extends Error {
  override readonly name = 'EngineUnreachableError';
}
