import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { type Principal } from '@pier/contracts';
import { type CallContext } from '@pier/messaging';
import { type FastifyRequest } from 'fastify';

/** The call context of the current request, for calls to services: who, and under which correlation id. */
export const Caller = createParamDecorator((_data: unknown, ctx: ExecutionContext): CallContext => {
  const request = ctx.switchToHttp().getRequest<FastifyRequest>();
  return { actor: request.pierActor, correlationId: request.pierCorrelationId };
});

/** The authenticated caller (set by `AccessGuard`; only on routes that are not public). */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<FastifyRequest>().pierPrincipal;
  if (!principal) throw new Error('@CurrentPrincipal() on a public route');
  return principal;
});

export const RPC_CLIENT = Symbol('RpcClient');
export const AUTHORIZER = Symbol('Authorizer');
