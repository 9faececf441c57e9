import { Controller, Inject } from '@nestjs/common';
import {
  apiTokenViewSchema,
  CreateApiToken,
  ListApiTokens,
  type Principal,
  RevokeApiToken,
} from '@pier/contracts';
import { type CallContext, type RpcClient } from '@pier/messaging';
import { z } from 'zod';
import { ApiRoute, Input, route, type RouteInput, uuidParam } from './api-route';
import { Caller, CurrentPrincipal, RPC_CLIENT } from './caller';

export const tokenRoutes = {
  create: route({
    method: 'POST',
    path: '/tokens',
    operationId: 'createApiToken',
    summary:
      'Create a personal API token (within the calling token’s spaces and lifetime); its secret is shown only in this response',
    tag: 'tokens',
    body: CreateApiToken.request.omit({ userId: true, callerTokenId: true }),
    status: 201,
    response: CreateApiToken.response,
    errors: ['SPACE_NOT_FOUND', 'TOKEN_SCOPE_EXCEEDED', 'MALFORMED_JSON'],
    access: { kind: 'authenticated' },
  }),
  list: route({
    method: 'GET',
    path: '/tokens',
    operationId: 'listApiTokens',
    summary: "The caller's API tokens (metadata only)",
    tag: 'tokens',
    status: 200,
    response: z.object({ items: z.array(apiTokenViewSchema) }),
    errors: [],
    access: { kind: 'authenticated' },
  }),
  revoke: route({
    method: 'DELETE',
    path: '/tokens/{tokenId}',
    operationId: 'revokeApiToken',
    summary: 'Revoke one of the caller’s API tokens; it stops working at once',
    tag: 'tokens',
    params: z.object({ tokenId: uuidParam }),
    status: 200,
    response: apiTokenViewSchema,
    errors: ['API_TOKEN_NOT_FOUND', 'TOKEN_SCOPE_EXCEEDED'],
    access: { kind: 'authenticated' },
  }),
};

@Controller()
export class TokensController {
  constructor(@Inject(RPC_CLIENT) private readonly rpc: RpcClient) {}

  @ApiRoute(tokenRoutes.create)
  create(
    @Input() input: RouteInput<typeof tokenRoutes.create>,
    @CurrentPrincipal() p: Principal,
    @Caller() caller: CallContext,
  ) {
    // A token creates tokens only within its own scope: the auth service checks against the calling one.
    return this.rpc.call(
      CreateApiToken,
      { ...input.body, userId: p.userId, callerTokenId: p.tokenId },
      caller,
    );
  }

  @ApiRoute(tokenRoutes.list)
  list(@CurrentPrincipal() p: Principal, @Caller() caller: CallContext) {
    return this.rpc.call(ListApiTokens, { userId: p.userId, callerTokenId: p.tokenId }, caller);
  }

  @ApiRoute(tokenRoutes.revoke)
  revoke(
    @Input() input: RouteInput<typeof tokenRoutes.revoke>,
    @CurrentPrincipal() p: Principal,
    @Caller() caller: CallContext,
  ) {
    return this.rpc.call(
      RevokeApiToken,
      { userId: p.userId, tokenId: input.params.tokenId, callerTokenId: p.tokenId },
      caller,
    );
  }
}
