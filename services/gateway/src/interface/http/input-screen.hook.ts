import { findIllFormedText, PierError } from '@pier/contracts';
import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { routeIndex, type RouteSpec } from './api-route';

/** Deepest JSON the API takes (a version spec needs about 6 levels). */
export const MAX_JSON_DEPTH = 32;

const PARTS = ['path', 'query', 'body'] as const;

/**
 * Screens every request before authentication and before any handler, for every route at once, so no
 * controller can forget it:
 * - no string anywhere in the path parameters, query or JSON body (object keys included) holds U+0000
 *   or an unpaired surrogate, and the body nests at most `MAX_JSON_DEPTH` levels: Postgres cannot store
 *   such text, and an event holding it would stall every projection that reads it;
 * - a query names only the parameters its route declares (a misspelt `limt` is an error, not a silently
 *   ignored filter);
 * - a route that declares no body takes none, or `{}`;
 * - a body is UTF-8, the only charset of JSON.
 * Failures are 400 VALIDATION_FAILED naming where; the route's own schemas are checked by `@Input()`.
 */
export function installInputScreen(fastify: FastifyInstance, routes: readonly RouteSpec[]): void {
  const routeOf = routeIndex(routes);
  fastify.addHook('preValidation', async (request) => {
    screenCharset(request);
    screenText(request);
    const spec = routeOf(request);
    if (spec) screenShape(spec, request);
  });
}

/** JSON is UTF-8 (RFC 8259): a body declared in another charset would be read as what it is not. */
function screenCharset(request: FastifyRequest): void {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(request.headers['content-type'] ?? '')?.[1];
  if (hasContent(request) && charset !== undefined && !/^utf-?8$/i.test(charset))
    throw new PierError('UNSUPPORTED_MEDIA_TYPE', 'the request body must be application/json in UTF-8');
}

function screenText(request: FastifyRequest): void {
  const values = { path: request.params, query: request.query, body: request.body };
  for (const where of PARTS) {
    const found = findIllFormedText(values[where], MAX_JSON_DEPTH);
    if (!found) continue;
    const at = found.path ? ` at ${found.path}` : '';
    const what =
      found.problem === 'nested too deeply'
        ? `nests deeper than ${MAX_JSON_DEPTH} levels${at}`
        : `holds a ${found.problem}${at}`;
    throw new PierError('VALIDATION_FAILED', `the request ${where} ${what}`, {
      in: where,
      ...found,
    });
  }
}

function screenShape(spec: RouteSpec, request: FastifyRequest): void {
  const declared = spec.query instanceof z.ZodObject ? Object.keys(spec.query.shape) : [];
  const unknown = Object.keys((request.query ?? {}) as object).filter((k) => !declared.includes(k));
  if (unknown.length > 0) {
    throw new PierError('VALIDATION_FAILED', 'the request query has parameters this route does not take', {
      in: 'query',
      unknown: unknown.slice(0, 10).map((k) => k.slice(0, 64)),
      allowed: declared,
    });
  }
  if (spec.body) return;
  if (request.body === undefined && hasContent(request)) {
    // Fastify reads no body for GET or HEAD: whatever was sent cannot be `{}` as far as we know.
    if (!isJson(request)) {
      throw new PierError('UNSUPPORTED_MEDIA_TYPE', 'the request body must be application/json');
    }
    throw new PierError('VALIDATION_FAILED', `${request.method} takes no body`, { in: 'body' });
  }
  if (request.body !== undefined && !isEmptyObject(request.body)) {
    throw new PierError('VALIDATION_FAILED', 'this route takes no body: send none, or {}', { in: 'body' });
  }
}

function hasContent(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function isJson(request: FastifyRequest): boolean {
  const type = request.headers['content-type'];
  return typeof type === 'string' && /^application\/json\s*(;|$)/i.test(type.trim());
}

function isEmptyObject(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0
  );
}
