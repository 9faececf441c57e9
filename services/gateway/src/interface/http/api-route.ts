import {
  applyDecorators,
  createParamDecorator,
  type ExecutionContext,
  HttpCode,
  RequestMapping,
  RequestMethod,
  SetMetadata,
} from '@nestjs/common';
import { type ErrorCode, isoDateTime, pageQuerySchema, PierError } from '@pier/contracts';
import { type Access } from '../../domain/access';
import { type FastifyRequest } from 'fastify';
import { z } from 'zod';

export const API_ROUTE = Symbol('ApiRoute');

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * One public route, declared once: Nest routing, request validation and the OpenAPI document are all
 * derived from it. `path` uses OpenAPI's `{param}` syntax, relative to `/api/v1`.
 */
export interface RouteSpec<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> {
  readonly method: Method;
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  readonly status: number;
  readonly response?: R;
  /** Error codes this route can answer with, besides the ones every route has. */
  readonly errors: readonly ErrorCode[];
  /** Who may call it; checked by `AccessGuard` before anything else runs. */
  readonly access: Access;
}

export function route<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(
  spec: RouteSpec<P, Q, B, R>,
): RouteSpec<P, Q, B, R> {
  return spec;
}

/** What a handler receives: the validated path parameters, query and body. */
export interface RouteInput<S> {
  readonly params: S extends RouteSpec<infer P, z.ZodType, z.ZodType, z.ZodType> ? z.output<P> : never;
  readonly query: S extends RouteSpec<z.ZodType, infer Q, z.ZodType, z.ZodType> ? z.output<Q> : never;
  readonly body: S extends RouteSpec<z.ZodType, z.ZodType, infer B, z.ZodType> ? z.output<B> : never;
}

const METHODS: Record<Method, RequestMethod> = {
  GET: RequestMethod.GET,
  POST: RequestMethod.POST,
  PUT: RequestMethod.PUT,
  PATCH: RequestMethod.PATCH,
  DELETE: RequestMethod.DELETE,
};

/** A route's path as the router matches it: OpenAPI's `{param}` as `:param`. */
const routerPath = (path: string): string => path.replace(/\{(\w+)\}/g, ':$1');

/**
 * Finds the route spec a request matched, for Fastify's own hooks (they run before Nest's handler and
 * its metadata are at hand). HEAD is answered by the GET route, and finds it.
 */
export function routeIndex(routes: readonly RouteSpec[]): (request: FastifyRequest) => RouteSpec | undefined {
  const byKey = new Map(routes.map((r) => [`${r.method} /api/v1${routerPath(r.path)}`, r]));
  return (request) => {
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    return byKey.get(`${method} ${request.routeOptions.url ?? ''}`);
  };
}

/** Declares a controller method as the handler of `spec`. */
export function ApiRoute(spec: RouteSpec): MethodDecorator {
  return applyDecorators(
    RequestMapping({ path: routerPath(spec.path), method: METHODS[spec.method] }),
    HttpCode(spec.status),
    SetMetadata(API_ROUTE, spec),
  );
}

/** Validates the request against the handler's route spec; failures are `VALIDATION_FAILED` (400). */
export const Input = createParamDecorator((_data: unknown, ctx: ExecutionContext) => {
  const spec = Reflect.getMetadata(API_ROUTE, ctx.getHandler()) as RouteSpec | undefined;
  if (!spec) throw new Error('@Input() used on a method without @ApiRoute()');
  const request = ctx.switchToHttp().getRequest<FastifyRequest>();
  return {
    params: validate('path', spec.params, request.params),
    query: validate('query', spec.query, request.query),
    body: validate('body', spec.body, spec.body ? (request.body ?? undefined) : undefined),
  };
});

function validate(where: 'path' | 'query' | 'body', schema: z.ZodType | undefined, value: unknown): unknown {
  if (!schema) return undefined;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new PierError('VALIDATION_FAILED', `the request ${where} is not valid`, {
    in: where,
    issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message, code: i.code })),
  });
}

/** Path parameter schemas. */
export const uuidParam = z.uuid({ message: 'must be a UUID' });

/**
 * A whole number in a path or query string, written the one canonical way: decimal digits without sign,
 * exponent, hex prefix, spaces or leading zeros (`z.coerce.number()` would take `1e3`, `0x10`, ` 7`).
 */
export const decimalParam = (min: number, max: number) =>
  z
    .string()
    .max(String(max).length)
    .regex(/^(0|[1-9][0-9]*)$/, 'must be a decimal number without sign, exponent or leading zeros')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** A page of a list in a query string: `limit` and the `cursor` a previous page returned. */
export const pageQuery = pageQuerySchema.extend({ limit: decimalParam(1, 1000).default(100) }).strict();

/** A time in a query string; year 0000 is valid ISO 8601 but not a date Postgres (or anyone) knows. */
export const queryDateTime = isoDateTime.refine((v) => !v.startsWith('0000'), 'year 0000 does not exist');
