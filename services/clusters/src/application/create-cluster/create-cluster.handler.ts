import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { type Cause, ClusterNameReserved, type ClusterView, createMessage, PierError } from '@pier/contracts';
import { commandContext } from '../command-context';
import { execute } from '@pier/eventstore';
import {
  CLUSTER_NAME_REPOSITORY,
  CLUSTER_REPOSITORY,
  type ClusterNameRepository,
  type ClusterRepository,
} from '../ports';
import { createCluster } from '../../domain/cluster/cluster.decide';
import { evolveCluster } from '../../domain/cluster/cluster.state';
import { clusterView } from '../views';

/**
 * Creates a cluster under a unique name. Uniqueness is a reservation aggregate per name, appended at
 * version 0: of two concurrent creations with one name, exactly one reserves it.
 */
@Injectable()
export class CreateClusterHandler {
  constructor(
    @Inject(CLUSTER_REPOSITORY) private readonly clusters: ClusterRepository,
    @Inject(CLUSTER_NAME_REPOSITORY) private readonly names: ClusterNameRepository,
  ) {}

  async execute(cmd: { name: string; description: string }, cause: Cause): Promise<ClusterView> {
    const ctx = commandContext(cause);
    const clusterId = randomUUID();
    await this.reserve(cmd.name, clusterId, cause, ctx.now);
    const { state } = await execute(
      this.clusters,
      clusterId,
      (s) => createCluster(s, { clusterId, ...cmd }, ctx),
      evolveCluster,
    );
    return clusterView(state!, { nodeCount: 0, readyNodeCount: 0 });
  }

  private async reserve(name: string, clusterId: string, cause: Cause, now: string): Promise<void> {
    const reservation = createMessage(ClusterNameReserved, { name, clusterId }, cause, now);
    const { state: holder, version } = await this.names.load(name);
    if (holder) {
      // A reservation whose cluster never got created (the creator stopped in between) is taken over.
      const { state: held } = await this.clusters.load(holder);
      if (held)
        throw new PierError('CLUSTER_NAME_TAKEN', `a cluster named "${name}" already exists`, { name });
    }
    try {
      await this.names.append(name, [reservation], version);
    } catch (error) {
      if (error instanceof PierError && error.code === 'CONCURRENCY_CONFLICT') {
        throw new PierError('CLUSTER_NAME_TAKEN', `a cluster named "${name}" already exists`, { name });
      }
      throw error;
    }
  }
}
