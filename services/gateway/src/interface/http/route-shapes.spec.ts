import 'reflect-metadata';
import fc from 'fast-check';
import { z } from 'zod';
import { API_CONTROLLERS } from '../../gateway.module';
import { decimalParam } from './api-route';
import { collectRoutes } from './openapi';

const routes = collectRoutes(API_CONTROLLERS);
const inputSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

/**
 * JSON-schema paths of objects that would silently drop unknown fields. Inside `allOf` (a zod
 * intersection) each side sees the other's fields, so strictness cannot be read from the parts there.
 */
function lenientObjects(node: unknown, path: string): string[] {
  if (node === null || typeof node !== 'object') return [];
  if (Array.isArray(node)) return node.flatMap((n, i) => lenientObjects(n, `${path}/${i}`));
  const found: string[] = [];
  const o = node as Record<string, unknown>;
  if (o.type === 'object' && o.properties && o.additionalProperties !== false) found.push(path || '/');
  for (const [key, child] of Object.entries(o))
    if (key !== 'allOf') found.push(...lenientObjects(child, `${path}/${key}`));
  return found;
}

describe('route shapes: every route refuses what it does not declare', () => {
  it('has a strict body and query on every route (unknown fields are a 400, never ignored)', () => {
    const lenient = routes.flatMap((r) =>
      (['body', 'query'] as const).flatMap((where) => {
        const schema = r[where];
        return schema
          ? lenientObjects(inputSchema(schema), '').map((p) => `${r.operationId} ${where} ${p}`)
          : [];
      }),
    );
    expect(lenient).toEqual([]);
  });

  it('declares every query as an object, so the input screen knows its parameters', () => {
    expect(
      routes.filter((r) => r.query && !(r.query instanceof z.ZodObject)).map((r) => r.operationId),
    ).toEqual([]);
  });

  it('takes path and query numbers as canonical decimal strings, never coerced', () => {
    const coerced = routes.flatMap((r) =>
      (['params', 'query'] as const).flatMap((where) => {
        const schema = r[where];
        if (!schema) return [];
        const properties = (inputSchema(schema).properties ?? {}) as Record<string, { type?: string }>;
        return Object.entries(properties)
          .filter(([, p]) => p.type !== 'string')
          .map(([name, p]) => `${r.operationId} ${where}.${name}: ${p.type}`);
      }),
    );
    expect(coerced).toEqual([]);
  });

  it.each(['1e3', '0x10', ' 7', '7 ', '+7', '07', '-1', '1.0', '0', '', '1000000', '٣', 'Infinity', 'NaN'])(
    'refuses the version number %j',
    (text) => {
      expect(decimalParam(1, 999_999).safeParse(text).success).toBe(false);
    },
  );

  it('accepts exactly the canonical decimals in range', () => {
    const version = decimalParam(1, 999_999);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 999_999 }), (n) => {
        expect(version.parse(String(n))).toBe(n);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), (text) => {
        expect(version.safeParse(text).success).toBe(/^[1-9][0-9]*$/.test(text) && Number(text) <= 999_999);
      }),
    );
  });
});
