import { Controller, Inject } from '@nestjs/common';
import {
  ChangeNodeScheduling,
  GetNode,
  labelsSchema,
  ListNodes,
  nodeViewSchema,
  SetNodeLabels,
} from '@pier/contracts';
import { type CallContext, type RpcClient } from '@pier/messaging';
import { z } from 'zod';
import { ApiRoute, Input, pageQuery, route, type RouteInput, uuidParam } from './api-route';
import { Caller, RPC_CLIENT } from './caller';

const nodeParams = z.object({ nodeId: uuidParam });

const schedulingRoute = (action: 'cordon' | 'uncordon' | 'drain', summary: string) =>
  route({
    method: 'POST',
    path: `/nodes/{nodeId}/${action}`,
    operationId: `${action}Node`,
    summary,
    tag: 'nodes',
    params: nodeParams,
    status: 200,
    response: nodeViewSchema,
    errors: ['NODE_NOT_FOUND', 'NODE_HAS_LEFT'],
    access: { kind: 'admin' },
  });

export const nodeRoutes = {
  list: route({
    method: 'GET',
    path: '/nodes',
    operationId: 'listNodes',
    summary: 'List nodes, optionally of one cluster',
    tag: 'nodes',
    query: pageQuery.extend({ clusterId: uuidParam.optional() }),
    status: 200,
    response: ListNodes.response,
    errors: ['CLUSTER_NOT_FOUND'],
    access: { kind: 'admin' },
  }),
  get: route({
    method: 'GET',
    path: '/nodes/{nodeId}',
    operationId: 'getNode',
    summary: 'Get a node',
    tag: 'nodes',
    params: nodeParams,
    status: 200,
    response: nodeViewSchema,
    errors: ['NODE_NOT_FOUND'],
    access: { kind: 'admin' },
  }),
  setLabels: route({
    method: 'PUT',
    path: '/nodes/{nodeId}/labels',
    operationId: 'setNodeLabels',
    summary: "Replace a node's labels",
    tag: 'nodes',
    params: nodeParams,
    body: z.object({ labels: labelsSchema }).strict(),
    status: 200,
    response: nodeViewSchema,
    errors: ['NODE_NOT_FOUND', 'MALFORMED_JSON'],
    access: { kind: 'admin' },
  }),
  cordon: schedulingRoute('cordon', 'Stop placing new instances on a node'),
  uncordon: schedulingRoute('uncordon', 'Return a cordoned or draining node to service'),
  drain: schedulingRoute('drain', 'Cordon a node and move its instances away'),
};

@Controller()
export class NodesController {
  constructor(@Inject(RPC_CLIENT) private readonly rpc: RpcClient) {}

  @ApiRoute(nodeRoutes.list)
  list(@Input() input: RouteInput<typeof nodeRoutes.list>, @Caller() caller: CallContext) {
    return this.rpc.call(ListNodes, input.query, caller);
  }

  @ApiRoute(nodeRoutes.get)
  get(@Input() input: RouteInput<typeof nodeRoutes.get>, @Caller() caller: CallContext) {
    return this.rpc.call(GetNode, input.params, caller);
  }

  @ApiRoute(nodeRoutes.setLabels)
  setLabels(@Input() input: RouteInput<typeof nodeRoutes.setLabels>, @Caller() caller: CallContext) {
    return this.rpc.call(SetNodeLabels, { nodeId: input.params.nodeId, labels: input.body.labels }, caller);
  }

  @ApiRoute(nodeRoutes.cordon)
  cordon(@Input() input: RouteInput<typeof nodeRoutes.cordon>, @Caller() caller: CallContext) {
    return this.rpc.call(ChangeNodeScheduling, { nodeId: input.params.nodeId, action: 'cordon' }, caller);
  }

  @ApiRoute(nodeRoutes.uncordon)
  uncordon(@Input() input: RouteInput<typeof nodeRoutes.uncordon>, @Caller() caller: CallContext) {
    return this.rpc.call(ChangeNodeScheduling, { nodeId: input.params.nodeId, action: 'uncordon' }, caller);
  }

  @ApiRoute(nodeRoutes.drain)
  drain(@Input() input: RouteInput<typeof nodeRoutes.drain>, @Caller() caller: CallContext) {
    return this.rpc.call(ChangeNodeScheduling, { nodeId: input.params.nodeId, action: 'drain' }, caller);
  }
}
