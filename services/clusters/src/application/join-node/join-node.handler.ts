import { Inject, Injectable } from '@nestjs/common';
import { type Cause, type Capacity, type Engine, type Labels, PierError } from '@pier/contracts';
import { useJoinToken } from '../../domain/cluster/cluster.decide';
import { evolveCluster } from '../../domain/cluster/cluster.state';
import { parseJoinToken } from '../../domain/cluster/join-token';
import { digestsEqual } from '../../domain/constant-time';
import { joinNode, leaveNode, rejoinNode } from '../../domain/node/node.decide';
import { evolveNode } from '../../domain/node/node.state';
import { commandContext } from '../command-context';
import { execute } from '@pier/eventstore';
import { CLUSTER_REPOSITORY, type ClusterRepository, NODE_REPOSITORY, type NodeRepository } from '../ports';
import { sha256 } from '../secrets';

export interface AgentHello {
  readonly nodeId: string;
  readonly credential: string;
  readonly hostname: string;
  readonly capacity: Capacity;
  readonly engine: Engine;
  readonly agentVersion: string;
}

export const JOIN_SETTINGS = Symbol('JoinSettings');
export interface JoinSettings {
  readonly heartbeatIntervalMs: number;
}

/**
 * Agents entering, re-entering and leaving. A join first spends a use of the token on the cluster, then
 * creates the node; both steps are idempotent for the same node id, so an agent that crashed half-way
 * simply joins again.
 */
@Injectable()
export class JoinNodeHandler {
  constructor(
    @Inject(CLUSTER_REPOSITORY) private readonly clusters: ClusterRepository,
    @Inject(NODE_REPOSITORY) private readonly nodes: NodeRepository,
    @Inject(JOIN_SETTINGS) private readonly settings: JoinSettings,
  ) {}

  async join(cmd: AgentHello & { token: string; name: string; labels: Labels; zone: string }, cause: Cause) {
    const ctx = commandContext(cause);
    const token = parseJoinToken(cmd.token);
    if (!token) throw new PierError('JOIN_TOKEN_INVALID', 'the join token is unknown or malformed');
    await execute(
      this.clusters,
      token.clusterId,
      (s) =>
        useJoinToken(
          s,
          { tokenId: token.tokenId, secretSha256: sha256(token.secret), nodeId: cmd.nodeId },
          ctx,
        ),
      evolveCluster,
    );
    const { credential, token: _token, ...facts } = cmd;
    await execute(
      this.nodes,
      cmd.nodeId,
      (s) =>
        joinNode(
          s,
          {
            ...facts,
            clusterId: token.clusterId,
            joinTokenId: token.tokenId,
            credentialSha256: sha256(credential),
          },
          ctx,
        ),
      evolveNode,
    );
    return {
      nodeId: cmd.nodeId,
      clusterId: token.clusterId,
      heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
    };
  }

  async rejoin(cmd: AgentHello, cause: Cause) {
    const ctx = commandContext(cause);
    const { credential, ...facts } = cmd;
    const { state } = await execute(
      this.nodes,
      cmd.nodeId,
      (s) => rejoinNode(s, { ...facts, credentialSha256: sha256(credential) }, ctx),
      evolveNode,
    );
    return {
      nodeId: cmd.nodeId,
      clusterId: state!.clusterId,
      heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
    };
  }

  /** Whether the credential is the node's; a node that left is still itself. */
  async authenticate(cmd: { nodeId: string; credential: string }) {
    const { state } = await this.nodes.load(cmd.nodeId);
    if (!state || !digestsEqual(state.credentialSha256, sha256(cmd.credential))) {
      throw new PierError('NODE_CREDENTIAL_INVALID', 'unknown node or wrong credential');
    }
    return { nodeId: state.id, clusterId: state.clusterId };
  }

  async leave(cmd: { nodeId: string; credential: string; reason: string }, cause: Cause) {
    const ctx = commandContext(cause);
    await execute(
      this.nodes,
      cmd.nodeId,
      (s) =>
        leaveNode(
          s,
          { nodeId: cmd.nodeId, credentialSha256: sha256(cmd.credential), reason: cmd.reason },
          ctx,
        ),
      evolveNode,
    );
    return { nodeId: cmd.nodeId };
  }
}
