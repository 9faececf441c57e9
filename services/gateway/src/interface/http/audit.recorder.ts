import { randomUUID } from 'node:crypto';
import { AUDIT, AuditRecorded, createMessage, type PierEvent, PLATFORM_AUDIT_ID } from '@pier/contracts';
import { type EventStore } from '@pier/eventstore';
import { type Logger } from '@pier/observability';
import { type FastifyRequest } from 'fastify';
import { type RouteSpec } from './api-route';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Records every mutating API request — allowed, denied or failed — as an `AuditRecorded` event on the
 * audit subject of its space (or of the platform), with the caller and the request's correlation id.
 */
export class AuditRecorder {
  private readonly operations = new Map<string, RouteSpec>();

  constructor(
    private readonly store: EventStore<PierEvent>,
    routes: readonly RouteSpec[],
    private readonly logger: Logger,
  ) {
    for (const r of routes)
      this.operations.set(`${r.method} /api/v1${r.path.replace(/\{(\w+)\}/g, ':$1')}`, r);
  }

  record(request: FastifyRequest, status: number): void {
    if (!MUTATING.has(request.method)) return;
    const spec = this.operations.get(`${request.method} ${request.routeOptions.url ?? ''}`);
    if (!spec) return; // no such route: nothing was acted on
    const params = (request.params ?? {}) as Record<string, string>;
    const space =
      typeof params.space === 'string' && /^[a-z0-9-]{1,63}$/.test(params.space) ? params.space : null;
    const id = randomUUID();
    const event = createMessage(
      AuditRecorded,
      {
        action: spec.operationId,
        method: request.method,
        path: request.url.split('?')[0]!.slice(0, 2000),
        space,
        target: { ...stringsOf(params), ...(request.pierAuditTarget ?? {}) },
        status,
        outcome: status < 400 ? 'succeeded' : status === 401 || status === 403 ? 'denied' : 'failed',
        errorCode: request.pierErrorCode,
        ip: request.ip ?? null,
      },
      { messageId: id, correlationId: request.pierCorrelationId, actor: request.pierActor },
      new Date().toISOString(),
    );
    this.store.append(AUDIT, space ?? PLATFORM_AUDIT_ID, [event], 'any').catch((error: unknown) => {
      this.logger.error(
        { err: error, correlationId: request.pierCorrelationId },
        'audit record could not be stored',
      );
    });
  }
}

function stringsOf(params: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(params)
      .filter((e): e is [string, string] => typeof e[1] === 'string')
      .map(([k, v]) => [k, v.slice(0, 200)]),
  );
}
