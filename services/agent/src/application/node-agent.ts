import { randomBytes, randomUUID } from 'node:crypto';
import { PierError } from '@pier/contracts';
import { type Logger } from '@pier/observability';
import {
  type AgentFacts,
  type ContainerDriver,
  type ControlPlane,
  type IdentityStore,
  type JoinAccepted,
  type NodeIdentity,
} from './ports';

/** Why the agent cannot start; `exitCode` tells scripts apart a refused join (3) from other failures (1). */
export class AgentStartError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'AgentStartError';
  }
}

export interface NodeAgentSettings {
  readonly joinToken?: string;
  readonly name?: string;
  readonly labels: Record<string, string>;
  readonly zone: string;
  readonly agentVersion: string;
  readonly cpuMillicores?: number;
  readonly memoryMiB?: number;
}

const REFUSALS = new Set([
  'JOIN_TOKEN_INVALID',
  'JOIN_TOKEN_EXPIRED',
  'JOIN_TOKEN_REVOKED',
  'JOIN_TOKEN_EXHAUSTED',
  'NODE_CREDENTIAL_INVALID',
  'NODE_NOT_FOUND',
  'NODE_ALREADY_JOINED',
  'VALIDATION_FAILED',
]);
const TRANSIENT = new Set(['SERVICE_UNAVAILABLE', 'DEADLINE_EXCEEDED', 'CONCURRENCY_CONFLICT', 'INTERNAL']);

/**
 * The node side of cluster membership: joins once with a token (or rejoins with its stored identity),
 * then sends heartbeats until it disconnects. Stopping the agent is not leaving: only `leave` is.
 */
export class NodeAgent {
  private identity?: Required<NodeIdentity>;
  private timer?: NodeJS.Timeout;
  private seq = 0;
  private stopping = false;

  constructor(
    private readonly driver: Pick<ContainerDriver, 'fingerprint'>,
    private readonly controlPlane: ControlPlane,
    private readonly identities: IdentityStore,
    private readonly settings: NodeAgentSettings,
    private readonly logger: Logger,
  ) {}

  get nodeId(): string | undefined {
    return this.identity?.nodeId;
  }

  /** The secret this node proves itself with to the control plane (e.g. to read secrets); set once started. */
  get credential(): string | undefined {
    return this.identity?.credential;
  }

  get heartbeatsSent(): number {
    return this.seq;
  }

  async start(): Promise<JoinAccepted> {
    const facts = await this.facts();
    const stored = await this.identities.read();
    let accepted: JoinAccepted;
    if (stored?.clusterId) {
      accepted = await this.untilReachable('rejoin', () =>
        this.controlPlane.rejoin({ ...facts, nodeId: stored.nodeId, credential: stored.credential }),
      );
      this.logger.info({ nodeId: accepted.nodeId, clusterId: accepted.clusterId }, 'rejoined the cluster');
    } else {
      const token = this.settings.joinToken;
      if (!token) {
        throw new AgentStartError(
          'this node has not joined a cluster yet: set PIER_AGENT_JOIN_TOKEN to a join token',
          3,
        );
      }
      // The identity is on disk before the join is sent: if the agent dies in between, it retries the
      // join as the same node, which the control plane accepts without spending the token twice.
      const pending = stored ?? { nodeId: randomUUID(), credential: randomBytes(32).toString('base64url') };
      if (!stored) await this.identities.write(pending);
      accepted = await this.untilReachable('join', () =>
        this.controlPlane.join({
          ...facts,
          token,
          nodeId: pending.nodeId,
          credential: pending.credential,
          name: this.settings.name ?? facts.hostname,
          labels: this.settings.labels,
          zone: this.settings.zone,
        }),
      );
      await this.identities.write({ ...pending, clusterId: accepted.clusterId });
      this.logger.info({ nodeId: accepted.nodeId, clusterId: accepted.clusterId }, 'joined the cluster');
    }
    this.identity = {
      ...(await this.identities.read())!,
      clusterId: accepted.clusterId,
    } as Required<NodeIdentity>;
    this.beat();
    this.timer = setInterval(() => this.beat(), accepted.heartbeatIntervalMs);
    return accepted;
  }

  /**
   * Stops heartbeats and nothing else: the node stays in the cluster and its containers keep running, so
   * an agent started again within the node-lost window (an upgrade, a restart) finds everything as it was
   * and adopts it. Should it not come back, the control plane declares the node lost.
   */
  disconnect(): void {
    this.stopping = true;
    clearInterval(this.timer);
  }

  /**
   * Tells the control plane that this node leaves the cluster for good: the node becomes `left` and every
   * instance of it is unassigned and placed elsewhere. An explicit act (`main.js leave`,
   * `PIER_AGENT_LEAVE_ON_STOP`), never a side effect of stopping. Rejects when the control plane did not
   * record it. Heartbeats go on until `disconnect`, while the runtime stops what was unassigned.
   */
  async leave(reason: string): Promise<void> {
    if (!this.identity) throw new Error('the agent has not joined a cluster: nothing to leave');
    await this.controlPlane.leave({
      nodeId: this.identity.nodeId,
      credential: this.identity.credential,
      reason,
    });
    this.logger.info({ nodeId: this.identity.nodeId, reason }, 'left the cluster');
  }

  private beat(): void {
    if (!this.identity) return;
    this.controlPlane.heartbeat({
      nodeId: this.identity.nodeId,
      clusterId: this.identity.clusterId,
      seq: this.seq++,
      sentAt: new Date().toISOString(),
    });
  }

  private async facts(): Promise<AgentFacts> {
    let fingerprint;
    try {
      fingerprint = await this.driver.fingerprint();
    } catch (error) {
      throw new AgentStartError(`cannot reach the container engine: ${(error as Error).message}`, 1);
    }
    return {
      hostname: fingerprint.hostname,
      engine: fingerprint.engine,
      agentVersion: this.settings.agentVersion,
      capacity: {
        cpuMillicores: this.settings.cpuMillicores ?? fingerprint.capacity.cpuMillicores,
        memoryMiB: this.settings.memoryMiB ?? fingerprint.capacity.memoryMiB,
      },
    };
  }

  /** Retries while the control plane is unreachable; a refusal ends the start with its reason. */
  private async untilReachable<T>(what: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (error instanceof PierError && REFUSALS.has(error.code)) {
          throw new AgentStartError(`${what} refused (${error.code}): ${error.message}`, 3);
        }
        if (this.stopping || !(error instanceof PierError && TRANSIENT.has(error.code))) throw error;
        const delay = Math.min(5000, 250 * 2 ** (attempt - 1));
        this.logger.warn(
          { code: error.code, attempt, retryInMs: delay },
          `control plane not reachable for ${what}; retrying`,
        );
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}
