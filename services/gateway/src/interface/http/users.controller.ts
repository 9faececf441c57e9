import { Controller, Inject } from '@nestjs/common';
import { GetUser, ListUsers, RegisterUser, userViewSchema } from '@pier/contracts';
import { type CallContext, type RpcClient } from '@pier/messaging';
import { z } from 'zod';
import { ApiRoute, Input, pageQuery, route, type RouteInput, uuidParam } from './api-route';
import { Caller, RPC_CLIENT } from './caller';

export const userRoutes = {
  create: route({
    method: 'POST',
    path: '/users',
    operationId: 'createUser',
    summary: 'Create a user (with a personal space)',
    tag: 'users',
    body: RegisterUser.request,
    status: 201,
    response: userViewSchema,
    errors: ['EMAIL_TAKEN', 'WEAK_PASSWORD', 'MALFORMED_JSON'],
    access: { kind: 'admin' },
  }),
  list: route({
    method: 'GET',
    path: '/users',
    operationId: 'listUsers',
    summary: 'List users',
    tag: 'users',
    query: pageQuery,
    status: 200,
    response: ListUsers.response,
    errors: [],
    access: { kind: 'admin' },
  }),
  get: route({
    method: 'GET',
    path: '/users/{userId}',
    operationId: 'getUser',
    summary: 'Get a user',
    tag: 'users',
    params: z.object({ userId: uuidParam }),
    status: 200,
    response: userViewSchema,
    errors: ['USER_NOT_FOUND'],
    access: { kind: 'admin' },
  }),
};

@Controller()
export class UsersController {
  constructor(@Inject(RPC_CLIENT) private readonly rpc: RpcClient) {}

  @ApiRoute(userRoutes.create)
  create(@Input() input: RouteInput<typeof userRoutes.create>, @Caller() caller: CallContext) {
    return this.rpc.call(RegisterUser, input.body, caller);
  }

  @ApiRoute(userRoutes.list)
  list(@Input() input: RouteInput<typeof userRoutes.list>, @Caller() caller: CallContext) {
    return this.rpc.call(ListUsers, input.query, caller);
  }

  @ApiRoute(userRoutes.get)
  get(@Input() input: RouteInput<typeof userRoutes.get>, @Caller() caller: CallContext) {
    return this.rpc.call(GetUser, input.params, caller);
  }
}
