import { type Type } from '@nestjs/common';
import { ERROR_CODES } from '@pier/contracts';
import { z } from 'zod';
import { API_ROUTE, type RouteSpec } from './api-route';
import { HTTP_STATUS } from './http-status';
import { MAX_JSON_DEPTH } from './input-screen.hook';

/** Every route spec declared on the given controllers, in declaration order. */
export function collectRoutes(controllers: readonly Type<unknown>[]): RouteSpec[] {
  const routes: RouteSpec[] = [];
  for (const controller of controllers) {
    const proto = controller.prototype as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(proto)) {
      const spec =
        typeof proto[key] === 'function'
          ? (Reflect.getMetadata(API_ROUTE, proto[key]) as RouteSpec | undefined)
          : undefined;
      if (spec) routes.push(spec);
    }
  }
  return routes;
}

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
};

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: [...ERROR_CODES] },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
};

/** Errors any route can answer with. */
const COMMON_ERRORS = [
  'VALIDATION_FAILED',
  'INTERNAL',
  'SERVICE_UNAVAILABLE',
  'API_OVERLOADED',
  'DEADLINE_EXCEEDED',
] as const;

/** What holds for every operation, beyond each one's schemas. */
const DESCRIPTION = [
  'Self-hosted container cloud.',
  'Request bodies are application/json only (anything else is 415); an operation without a request body',
  'takes none or `{}`. Unknown body fields and unknown query parameters are refused (400), never ignored.',
  'No string anywhere in a request (path, query, body, object keys) may hold U+0000 or an unpaired',
  `surrogate, and bodies nest at most ${MAX_JSON_DEPTH} levels (400 VALIDATION_FAILED naming where). Numbers in paths`,
  'and queries are plain decimals (`7`, not `07`, `+7`, `7.0` or `1e1`).',
  'When the API carries out all the calls it can at once, a call beyond that is refused at once with 503',
  'API_OVERLOADED and `Retry-After` (nothing was done: retry it then).',
].join(' ');

/** The OpenAPI 3.1 document of the public API, generated from the route specs. */
export function buildOpenApi(
  routes: readonly RouteSpec[],
  info: { version: string },
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ['path', r.params],
      ['query', r.query],
    ] as const) {
      if (!schema) continue;
      const js = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(js.properties ?? {})) {
        parameters.push({
          name,
          in: where,
          required: where === 'path' || (js.required ?? []).includes(name),
          schema: s,
        });
      }
    }
    const responses: Record<string, unknown> = {
      [String(r.status)]: r.response
        ? {
            description: r.summary,
            content: { 'application/json': { schema: jsonSchema(r.response, 'output') } },
          }
        : { description: r.summary },
    };
    for (const code of [...COMMON_ERRORS, ...r.errors]) {
      const status = String(HTTP_STATUS[code]);
      const existing = responses[status] as { description: string } | undefined;
      responses[status] = {
        description: existing ? `${existing.description}, ${code}` : code,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    const operation: Record<string, unknown> = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      parameters,
      responses,
      ...(r.access.kind === 'public' ? { security: [] } : {}),
      'x-pier-access': r.access,
    };
    if (r.body) {
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema: jsonSchema(r.body, 'input') } },
      };
    }
    (paths[`/api/v1${r.path}`] ??= {})[r.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Pier API', version: info.version, description: DESCRIPTION },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: { Error: errorSchema },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    security: [{ bearer: [] }],
  };
}
