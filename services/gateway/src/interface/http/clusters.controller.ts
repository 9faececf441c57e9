import { Controller, Inject } from '@nestjs/common';
import {
  clusterViewSchema,
  CreateCluster,
  CreateJoinToken,
  GetCluster,
  joinTokenViewSchema,
  ListClusters,
  ListJoinTokens,
  ListNodes,
  RevokeJoinToken,
} from '@pier/contracts';
import { type CallContext, type RpcClient } from '@pier/messaging';
import { z } from 'zod';
import { ApiRoute, Input, pageQuery, route, type RouteInput, uuidParam } from './api-route';
import { Caller, RPC_CLIENT } from './caller';

const clusterParams = z.object({ clusterId: uuidParam });

export const clusterRoutes = {
  create: route({
    method: 'POST',
    path: '/clusters',
    operationId: 'createCluster',
    summary: 'Create a cluster',
    tag: 'clusters',
    body: CreateCluster.request,
    status: 201,
    response: clusterViewSchema,
    errors: ['CLUSTER_NAME_TAKEN', 'MALFORMED_JSON'],
    access: { kind: 'admin' },
  }),
  list: route({
    method: 'GET',
    path: '/clusters',
    operationId: 'listClusters',
    summary: 'List clusters',
    tag: 'clusters',
    query: pageQuery,
    status: 200,
    response: ListClusters.response,
    errors: [],
    access: { kind: 'admin' },
  }),
  get: route({
    method: 'GET',
    path: '/clusters/{clusterId}',
    operationId: 'getCluster',
    summary: 'Get a cluster',
    tag: 'clusters',
    params: clusterParams,
    status: 200,
    response: clusterViewSchema,
    errors: ['CLUSTER_NOT_FOUND'],
    access: { kind: 'admin' },
  }),
  createJoinToken: route({
    method: 'POST',
    path: '/clusters/{clusterId}/join-tokens',
    operationId: 'createJoinToken',
    summary: 'Create a join token; its secret is shown only in this response',
    tag: 'clusters',
    params: clusterParams,
    body: CreateJoinToken.request.omit({ clusterId: true }),
    status: 201,
    response: CreateJoinToken.response,
    errors: ['CLUSTER_NOT_FOUND', 'MALFORMED_JSON'],
    access: { kind: 'admin' },
  }),
  listJoinTokens: route({
    method: 'GET',
    path: '/clusters/{clusterId}/join-tokens',
    operationId: 'listJoinTokens',
    summary: 'List the join tokens of a cluster (metadata only)',
    tag: 'clusters',
    params: clusterParams,
    status: 200,
    response: z.object({ items: z.array(joinTokenViewSchema) }),
    errors: ['CLUSTER_NOT_FOUND'],
    access: { kind: 'admin' },
  }),
  revokeJoinToken: route({
    method: 'DELETE',
    path: '/clusters/{clusterId}/join-tokens/{tokenId}',
    operationId: 'revokeJoinToken',
    summary: 'Revoke a join token',
    tag: 'clusters',
    params: z.object({ clusterId: uuidParam, tokenId: uuidParam }),
    status: 200,
    response: joinTokenViewSchema,
    errors: ['CLUSTER_NOT_FOUND', 'JOIN_TOKEN_NOT_FOUND'],
    access: { kind: 'admin' },
  }),
  listNodes: route({
    method: 'GET',
    path: '/clusters/{clusterId}/nodes',
    operationId: 'listClusterNodes',
    summary: 'List the nodes of a cluster',
    tag: 'clusters',
    params: clusterParams,
    query: pageQuery,
    status: 200,
    response: ListNodes.response,
    errors: ['CLUSTER_NOT_FOUND'],
    access: { kind: 'admin' },
  }),
};

@Controller()
export class ClustersController {
  constructor(@Inject(RPC_CLIENT) private readonly rpc: RpcClient) {}

  @ApiRoute(clusterRoutes.create)
  create(@Input() input: RouteInput<typeof clusterRoutes.create>, @Caller() caller: CallContext) {
    return this.rpc.call(CreateCluster, input.body, caller);
  }

  @ApiRoute(clusterRoutes.list)
  list(@Input() input: RouteInput<typeof clusterRoutes.list>, @Caller() caller: CallContext) {
    return this.rpc.call(ListClusters, input.query, caller);
  }

  @ApiRoute(clusterRoutes.get)
  get(@Input() input: RouteInput<typeof clusterRoutes.get>, @Caller() caller: CallContext) {
    return this.rpc.call(GetCluster, input.params, caller);
  }

  @ApiRoute(clusterRoutes.createJoinToken)
  createJoinToken(
    @Input() input: RouteInput<typeof clusterRoutes.createJoinToken>,
    @Caller() caller: CallContext,
  ) {
    return this.rpc.call(CreateJoinToken, { ...input.body, clusterId: input.params.clusterId }, caller);
  }

  @ApiRoute(clusterRoutes.listJoinTokens)
  listJoinTokens(
    @Input() input: RouteInput<typeof clusterRoutes.listJoinTokens>,
    @Caller() caller: CallContext,
  ) {
    return this.rpc.call(ListJoinTokens, input.params, caller);
  }

  @ApiRoute(clusterRoutes.revokeJoinToken)
  revokeJoinToken(
    @Input() input: RouteInput<typeof clusterRoutes.revokeJoinToken>,
    @Caller() caller: CallContext,
  ) {
    return this.rpc.call(RevokeJoinToken, input.params, caller);
  }

  @ApiRoute(clusterRoutes.listNodes)
  listNodes(@Input() input: RouteInput<typeof clusterRoutes.listNodes>, @Caller() caller: CallContext) {
    return this.rpc.call(ListNodes, { ...input.query, clusterId: input.params.clusterId }, caller);
  }
}
