import { Controller, Inject } from '@nestjs/common';
import { auditQuerySchema, dnsLabelSchema, ListAudit } from '@pier/contracts';
import { type CallContext, type RpcClient } from '@pier/messaging';
import { z } from 'zod';
import { ApiRoute, decimalParam, Input, queryDateTime, route, type RouteInput } from './api-route';
import { Caller, RPC_CLIENT } from './caller';

/** The audit filters, as a query string carries them. */
const auditQuery = auditQuerySchema
  .extend({
    limit: decimalParam(1, 1000).default(100),
    from: queryDateTime.optional(),
    to: queryDateTime.optional(),
  })
  .strict();

export const auditRoutes = {
  space: route({
    method: 'GET',
    path: '/spaces/{space}/audit',
    operationId: 'listSpaceAudit',
    summary: 'The space’s audit log, newest first; filter by actor, action and time',
    tag: 'audit',
    params: z.object({ space: dnsLabelSchema }),
    query: auditQuery,
    status: 200,
    response: ListAudit.response,
    errors: ['SPACE_NOT_FOUND'],
    access: { kind: 'space', permission: 'audit' },
  }),
  platform: route({
    method: 'GET',
    path: '/audit',
    operationId: 'listAudit',
    summary: 'Every audit record of the platform, newest first',
    tag: 'audit',
    query: auditQuery,
    status: 200,
    response: ListAudit.response,
    errors: [],
    access: { kind: 'admin' },
  }),
};

@Controller()
export class AuditController {
  constructor(@Inject(RPC_CLIENT) private readonly rpc: RpcClient) {}

  @ApiRoute(auditRoutes.space)
  space(@Input() input: RouteInput<typeof auditRoutes.space>, @Caller() caller: CallContext) {
    return this.rpc.call(ListAudit, { ...input.query, space: input.params.space }, caller);
  }

  @ApiRoute(auditRoutes.platform)
  platform(@Input() input: RouteInput<typeof auditRoutes.platform>, @Caller() caller: CallContext) {
    return this.rpc.call(ListAudit, { ...input.query, space: null }, caller);
  }
}
