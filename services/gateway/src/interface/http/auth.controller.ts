import { Controller, Inject, Req } from '@nestjs/common';
import {
  GetUser,
  ListSpaces,
  Login,
  Logout,
  PierError,
  type Principal,
  principalSchema,
  Refresh,
  sessionTokensSchema,
  userViewSchema,
} from '@pier/contracts';
import { type CallContext, type RpcClient } from '@pier/messaging';
import { type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ApiRoute, Input, route, type RouteInput } from './api-route';
import { Caller, CurrentPrincipal, RPC_CLIENT } from './caller';

export const authRoutes = {
  login: route({
    method: 'POST',
    path: '/auth/login',
    operationId: 'login',
    summary: 'Log in with email and password; 429 with Retry-After after repeated failures',
    tag: 'auth',
    body: z.object({ email: z.string().min(1).max(254), password: z.string().min(1).max(1024) }).strict(),
    status: 200,
    response: sessionTokensSchema,
    errors: ['INVALID_CREDENTIALS', 'RATE_LIMITED', 'MALFORMED_JSON'],
    access: { kind: 'public' },
  }),
  refresh: route({
    method: 'POST',
    path: '/auth/refresh',
    operationId: 'refreshSession',
    summary: 'Trade a refresh token for new tokens; the old refresh token is spent',
    tag: 'auth',
    body: z.object({ refreshToken: z.string().min(1).max(500) }).strict(),
    status: 200,
    response: sessionTokensSchema,
    errors: ['UNAUTHENTICATED', 'MALFORMED_JSON'],
    access: { kind: 'public' },
  }),
  logout: route({
    method: 'POST',
    path: '/auth/logout',
    operationId: 'logout',
    summary: 'End the current login session: its access and refresh tokens stop working at once',
    tag: 'auth',
    status: 200,
    response: z.object({ sessionId: z.uuid() }),
    errors: ['UNAUTHENTICATED'],
    access: { kind: 'authenticated' },
  }),
  me: route({
    method: 'GET',
    path: '/me',
    operationId: 'getMe',
    summary: 'The caller: user, how they authenticated, and their spaces',
    tag: 'auth',
    status: 200,
    response: z.object({
      user: userViewSchema,
      principal: principalSchema,
      spaces: z.array(z.object({ name: z.string(), role: z.string().nullable() })),
    }),
    errors: ['UNAUTHENTICATED'],
    access: { kind: 'authenticated' },
  }),
};

@Controller()
export class AuthController {
  constructor(@Inject(RPC_CLIENT) private readonly rpc: RpcClient) {}

  @ApiRoute(authRoutes.login)
  login(
    @Input() input: RouteInput<typeof authRoutes.login>,
    @Caller() caller: CallContext,
    @Req() request: FastifyRequest,
  ) {
    request.pierAuditTarget = { email: input.body.email.trim().toLowerCase().slice(0, 200) };
    return this.rpc.call(Login, { ...input.body, address: request.ip ?? null }, caller);
  }

  @ApiRoute(authRoutes.refresh)
  refresh(@Input() input: RouteInput<typeof authRoutes.refresh>, @Caller() caller: CallContext) {
    return this.rpc.call(Refresh, input.body, caller);
  }

  @ApiRoute(authRoutes.logout)
  logout(@CurrentPrincipal() principal: Principal, @Caller() caller: CallContext) {
    if (!principal.sessionId) {
      throw new PierError(
        'VALIDATION_FAILED',
        'logout ends a login session; revoke an API token with DELETE /api/v1/tokens/{tokenId}',
      );
    }
    return this.rpc.call(Logout, { sessionId: principal.sessionId }, caller);
  }

  @ApiRoute(authRoutes.me)
  async me(@CurrentPrincipal() principal: Principal, @Caller() caller: CallContext) {
    const [user, spaces] = await Promise.all([
      this.rpc.call(GetUser, { userId: principal.userId }, caller),
      this.rpc.call(ListSpaces, { memberId: principal.userId, limit: 1000 }, caller),
    ]);
    const visible = spaces.items.filter(
      (s) => principal.tokenSpaces === null || principal.tokenSpaces.includes(s.name),
    );
    return { user, principal, spaces: visible.map((s) => ({ name: s.name, role: s.role })) };
  }
}
