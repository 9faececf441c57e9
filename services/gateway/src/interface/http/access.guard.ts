import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { dnsLabelSchema, PierError } from '@pier/contracts';
import { type FastifyRequest } from 'fastify';
import { auditSpace, decideAccess } from '../../domain/access';
import { type Authorizer } from '../../infrastructure/authorizer';
import { API_ROUTE, type RouteSpec } from './api-route';
import { AUTHORIZER } from './caller';

/**
 * Authenticates and authorizes every API request before anything else runs, from the route's declared
 * access, then has the audit log record an allowed mutating request before its handler acts. The auth
 * service's answers are reused until it says the tenancy changed (`Authorizer`), so revocations and role
 * changes still apply to the next request.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(@Inject(AUTHORIZER) private readonly authorizer: Authorizer) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const spec = Reflect.getMetadata(API_ROUTE, ctx.getHandler()) as RouteSpec | undefined;
    if (!spec || spec.access.kind === 'public') return true; // ops endpoints and the public routes
    const request = ctx.switchToHttp().getRequest<FastifyRequest>();
    const credential = bearer(request.headers.authorization);
    const params = (request.params ?? {}) as Record<string, string>;
    const named = spec.access.kind === 'space' ? params.space : undefined;
    const space = named !== undefined && dnsLabelSchema.safeParse(named).success ? named : null;
    const auth = await this.authorizer.authorize(credential, space, request.pierCorrelationId);
    request.pierPrincipal = auth.principal;
    request.pierActor = {
      kind: auth.principal.via === 'token' ? 'token' : 'user',
      id: auth.principal.userId,
    };
    const decision = decideAccess(spec.access, auth, params);
    if (!decision.allowed) throw new PierError(decision.code, decision.message);
    // Recorded before the handler runs: a request whose record cannot be stored is not carried out.
    if (!request.pierAudit) throw new Error('the audit trail is not installed (installRequestContext)');
    await request.pierAudit.accepted(request, spec, auditSpace(spec.access, auth, decision));
    return true;
  }
}

function bearer(header: string | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) throw new PierError('UNAUTHENTICATED', 'send credentials as "Authorization: Bearer <token>"');
  return match[1]!;
}
