import { Inject, Injectable } from '@nestjs/common';
import { type ClusterView, type JoinTokenView, type NodeView, PierError } from '@pier/contracts';
import { NodeLivenessMonitor } from '../node-liveness/node-liveness.monitor';
import { CLUSTERS_READ_MODEL, type ClustersReadModel, type Page } from '../ports';

/** Reads from the Postgres read model, completed with what only the liveness monitor knows. */
@Injectable()
export class ClustersQueries {
  constructor(
    @Inject(CLUSTERS_READ_MODEL) private readonly readModel: ClustersReadModel,
    private readonly liveness: NodeLivenessMonitor,
  ) {}

  listClusters(page: { limit: number; cursor?: string }): Promise<Page<ClusterView>> {
    return this.readModel.listClusters(page);
  }

  async getCluster(clusterId: string): Promise<ClusterView> {
    const cluster = await this.readModel.getCluster(clusterId);
    if (!cluster)
      throw new PierError('CLUSTER_NOT_FOUND', `cluster ${clusterId} does not exist`, { clusterId });
    return cluster;
  }

  async listJoinTokens(clusterId: string): Promise<JoinTokenView[]> {
    await this.getCluster(clusterId);
    return this.readModel.listJoinTokens(clusterId, new Date().toISOString());
  }

  async listNodes(query: { clusterId?: string; limit: number; cursor?: string }): Promise<Page<NodeView>> {
    if (query.clusterId) await this.getCluster(query.clusterId);
    const page = await this.readModel.listNodes(query);
    return { ...page, items: page.items.map((n) => ({ ...n, lastSeenAt: this.liveness.lastSeenAt(n.id) })) };
  }

  async getNode(nodeId: string): Promise<NodeView> {
    const node = await this.readModel.getNode(nodeId);
    if (!node) throw new PierError('NODE_NOT_FOUND', `node ${nodeId} does not exist`, { nodeId });
    return { ...node, lastSeenAt: this.liveness.lastSeenAt(node.id) };
  }
}
