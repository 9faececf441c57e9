import { randomUUID } from 'node:crypto';
import { type Actor, type Principal } from '@pier/contracts';
import {
  context,
  counter,
  extractTraceContext,
  histogram,
  type Registry,
  SpanKind,
  SpanStatusCode,
  trace,
  tracer,
} from '@pier/observability';
import { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type RouteSpec } from './api-route';

declare module 'fastify' {
  interface FastifyRequest {
    /** Correlation id of everything this request causes. */
    pierCorrelationId: string;
    /** Who is calling: anonymous until `AccessGuard` has authenticated the request. */
    pierActor: Actor;
    /** The authenticated caller, on every route that is not public. */
    pierPrincipal: Principal | null;
    /** The error code the request ended with, if any (for the audit log). */
    pierErrorCode: string | null;
    /** What a request acts on beyond its path parameters (e.g. the email of a login), for the audit log. */
    pierAuditTarget: Record<string, string> | null;
    /** The audit trail, for `AccessGuard` to record a request's intent before its handler runs. */
    pierAudit: RequestAudit | null;
    /** Set once the intent of this request is stored: its outcome completes that record. */
    pierAuditIntent: { readonly requestId: string; readonly space: string | null } | null;
  }
}

/**
 * The audit log's part in a request's life. Every mutating request that acts on something is recorded
 * before it acts (`accepted`, by `AccessGuard`), so a change never happens without its record, and its
 * outcome is recorded before the answer leaves (`answering`).
 */
export interface RequestAudit {
  /**
   * Stores the intent of an authorized mutating request, in the log of `space` (null: the platform's).
   * Throws `SERVICE_UNAVAILABLE` when it cannot: the request must then not be carried out.
   */
  accepted(request: FastifyRequest, route: RouteSpec, space: string | null): Promise<void>;
  /**
   * Records how a request ended, before its answer is sent; may replace the answer (returns the payload
   * to send) when a success cannot be recorded and withholding it undoes it.
   */
  answering(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Per-request context: a correlation id (the caller's `X-Request-Id` when well-formed, else a new one,
 * echoed back), a server span that is the active trace context for everything the request does,
 * continuing the caller's trace when it sent a `traceparent`, and the audit trail (awaited before any
 * answer is sent).
 */
export function installRequestContext(
  fastify: FastifyInstance,
  metrics: Registry,
  audit: RequestAudit | null,
): void {
  const requests = counter(metrics, {
    name: 'pier_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status',
    labelNames: ['method', 'route', 'status'],
  });
  const duration = histogram(metrics, {
    name: 'pier_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route template',
    labelNames: ['method', 'route'],
  });
  fastify.decorateRequest('pierCorrelationId', '');
  fastify.decorateRequest('pierActor', null as unknown as Actor);
  fastify.decorateRequest('pierPrincipal', null);
  fastify.decorateRequest('pierErrorCode', null);
  fastify.decorateRequest('pierAuditTarget', null);
  fastify.decorateRequest('pierAudit', null);
  fastify.decorateRequest('pierAuditIntent', null);
  if (audit) fastify.addHook('onSend', (request, reply, payload) => audit.answering(request, reply, payload));
  fastify.addHook('onRequest', (request, reply, done) => {
    const given = request.headers['x-request-id'];
    request.pierCorrelationId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    request.pierActor = { kind: 'anonymous', id: 'anonymous' };
    request.pierAudit = audit;
    void reply.header('x-request-id', request.pierCorrelationId);
    const parent = extractTraceContext({
      get: (key) => headerValue(request, key),
      set: () => undefined,
    });
    const span = tracer().startSpan(
      `${request.method} ${request.routeOptions.url ?? 'unmatched'}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.url.split('?')[0]!,
          'pier.correlation_id': request.pierCorrelationId,
        },
      },
      parent,
    );
    const started = process.hrtime.bigint();
    reply.raw.once('close', () => {
      const route = request.routeOptions.url ?? 'unmatched';
      requests.inc({ method: request.method, route, status: String(reply.statusCode) });
      duration.observe({ method: request.method, route }, Number(process.hrtime.bigint() - started) / 1e9);
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), done);
  });
}

function headerValue(request: FastifyRequest, key: string): string | undefined {
  const v = request.headers[key];
  return Array.isArray(v) ? v[0] : v;
}
