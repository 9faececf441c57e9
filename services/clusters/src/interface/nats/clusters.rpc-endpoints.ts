import {
  AuthenticateNode,
  ChangeNodeScheduling,
  CreateCluster,
  CreateJoinToken,
  GetCluster,
  GetNode,
  JoinNode,
  LeaveNode,
  ListClusters,
  ListJoinTokens,
  ListNodes,
  RejoinNode,
  RevokeJoinToken,
  SetNodeLabels,
} from '@pier/contracts';
import { type RpcServer } from '@pier/messaging';
import { type CreateClusterHandler } from '../../application/create-cluster/create-cluster.handler';
import { type JoinNodeHandler } from '../../application/join-node/join-node.handler';
import { type JoinTokensHandler } from '../../application/join-tokens/join-tokens.handler';
import { type NodeAdminHandler } from '../../application/node-admin/node-admin.handler';
import { type ClustersQueries } from '../../application/queries/clusters.queries';

export interface ClustersHandlers {
  readonly createCluster: CreateClusterHandler;
  readonly joinTokens: JoinTokensHandler;
  readonly joinNode: JoinNodeHandler;
  readonly nodeAdmin: NodeAdminHandler;
  readonly queries: ClustersQueries;
}

/** The clusters service's request/reply surface: every contract mapped to its use case. */
export function registerClustersEndpoints(server: RpcServer, h: ClustersHandlers): void {
  server.handle(CreateCluster, (req, meta) => h.createCluster.execute(req, meta));
  server.handle(ListClusters, (req) => h.queries.listClusters(req));
  server.handle(GetCluster, (req) => h.queries.getCluster(req.clusterId));
  server.handle(CreateJoinToken, (req, meta) => h.joinTokens.create(req, meta));
  server.handle(ListJoinTokens, async (req) => ({ items: await h.queries.listJoinTokens(req.clusterId) }));
  server.handle(RevokeJoinToken, (req, meta) => h.joinTokens.revoke(req, meta));
  server.handle(JoinNode, (req, meta) => h.joinNode.join(req, meta));
  server.handle(RejoinNode, (req, meta) => h.joinNode.rejoin(req, meta));
  server.handle(LeaveNode, (req, meta) => h.joinNode.leave(req, meta));
  server.handle(AuthenticateNode, (req) => h.joinNode.authenticate(req));
  server.handle(ListNodes, (req) => h.queries.listNodes(req));
  server.handle(GetNode, (req) => h.queries.getNode(req.nodeId));
  server.handle(SetNodeLabels, (req, meta) => h.nodeAdmin.setLabels(req, meta));
  server.handle(ChangeNodeScheduling, (req, meta) => h.nodeAdmin.changeScheduling(req, meta));
}
