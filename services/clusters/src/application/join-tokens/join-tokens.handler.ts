import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { type Cause, type JoinTokenView, PierError } from '@pier/contracts';
import { createJoinToken, revokeJoinToken } from '../../domain/cluster/cluster.decide';
import { evolveCluster } from '../../domain/cluster/cluster.state';
import { formatJoinToken } from '../../domain/cluster/join-token';
import { commandContext } from '../command-context';
import { execute } from '@pier/eventstore';
import { CLUSTER_REPOSITORY, type ClusterRepository } from '../ports';
import { newSecret, sha256 } from '../secrets';
import { joinTokenView } from '../views';

/** Issues and revokes join tokens. A token's secret is returned once, at creation, and never stored. */
@Injectable()
export class JoinTokensHandler {
  constructor(@Inject(CLUSTER_REPOSITORY) private readonly clusters: ClusterRepository) {}

  async create(
    cmd: { clusterId: string; ttlSeconds: number; maxUses: number | null; description: string },
    cause: Cause,
  ): Promise<JoinTokenView & { token: string }> {
    const ctx = commandContext(cause);
    const tokenId = randomUUID();
    const secret = newSecret();
    const { state } = await execute(
      this.clusters,
      cmd.clusterId,
      (s) => createJoinToken(s, { ...cmd, tokenId, secretSha256: sha256(secret) }, ctx),
      evolveCluster,
    );
    const token = state!.tokens[tokenId]!;
    return {
      ...joinTokenView(cmd.clusterId, token, ctx.now),
      token: formatJoinToken({ clusterId: cmd.clusterId, tokenId, secret }),
    };
  }

  async revoke(cmd: { clusterId: string; tokenId: string }, cause: Cause): Promise<JoinTokenView> {
    const ctx = commandContext(cause);
    const { state } = await execute(
      this.clusters,
      cmd.clusterId,
      (s) => revokeJoinToken(s, cmd, ctx),
      evolveCluster,
    );
    const token = state?.tokens[cmd.tokenId];
    if (!token) throw new PierError('JOIN_TOKEN_NOT_FOUND', `join token ${cmd.tokenId} does not exist`);
    return joinTokenView(cmd.clusterId, token, ctx.now);
  }
}
