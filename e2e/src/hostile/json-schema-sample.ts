/** The JSON Schema subset the gateway's OpenAPI document uses (zod's output). */
export interface JsonSchema {
  readonly type?: string | string[];
  readonly properties?: Record<string, JsonSchema>;
  readonly required?: string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly propertyNames?: JsonSchema;
  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly enum?: unknown[];
  readonly const?: unknown;
  readonly default?: unknown;
  readonly anyOf?: JsonSchema[];
  readonly oneOf?: JsonSchema[];
  readonly allOf?: JsonSchema[];
  readonly pattern?: string;
  readonly format?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
}

/** Strings tried, in order, for a string schema: the first its pattern and bounds accept is taken. */
const CANDIDATES = [
  'fuzz',
  'fuzz.example.org',
  'pier/busybox:latest',
  'FUZZ_KEY',
  '/healthz',
  'key==value',
  'fuzz@example.com',
  '1',
  'a',
];

const FORMATS: Record<string, string> = {
  email: 'fuzz@example.com',
  uuid: '00000000-0000-4000-8000-000000000000',
  'date-time': '2099-01-01T00:00:00.000Z',
};

/** The variants of a union or the merged parts of an intersection, as one list of alternatives. */
export function alternatives(schema: JsonSchema): JsonSchema[] {
  if (schema.anyOf) return schema.anyOf;
  if (schema.oneOf) return schema.oneOf;
  return [schema];
}

function merged(schema: JsonSchema): JsonSchema {
  if (!schema.allOf) return schema;
  return schema.allOf.map(merged).reduce<JsonSchema>(
    (a, b) => ({
      ...a,
      ...b,
      properties: { ...a.properties, ...b.properties },
      required: [...(a.required ?? []), ...(b.required ?? [])],
    }),
    { ...schema, allOf: undefined },
  );
}

/** The main type of a schema (`null` aside). */
export function typeOf(schema: JsonSchema): string | undefined {
  const s = merged(alternatives(schema)[0]!);
  if (Array.isArray(s.type)) return s.type.find((t) => t !== 'null');
  if (s.type) return s.type;
  if (s.properties) return 'object';
  if (s.enum || s.const !== undefined) return typeof (s.enum?.[0] ?? s.const);
  return undefined;
}

function sampleString(s: JsonSchema): string {
  if (s.format && FORMATS[s.format]) return FORMATS[s.format]!;
  const fits = (v: string) =>
    v.length >= (s.minLength ?? 0) &&
    v.length <= (s.maxLength ?? Infinity) &&
    (!s.pattern || new RegExp(s.pattern, 'u').test(v));
  return CANDIDATES.find(fits) ?? 'x'.repeat(Math.max(1, s.minLength ?? 1));
}

/**
 * A value `schema` accepts as far as it can be read without solving it: defaults, consts and enums
 * first, then the first alternative, required properties only, bounds and formats respected, patterns
 * matched from a list of likely candidates. Good enough to get past validation on most operations, so
 * that variants of it reach the handlers.
 */
export function sample(schema: JsonSchema, depth = 0): unknown {
  const s = merged(alternatives(schema)[0]!);
  if (s.default !== undefined) return s.default;
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  if (depth > 8) return null;
  switch (typeOf(s)) {
    case 'string':
      return sampleString(s);
    case 'integer':
    case 'number':
      return Math.max(s.minimum ?? 1, Math.min(1, s.maximum ?? 1));
    case 'boolean':
      return false;
    case 'array':
      return Array.from({ length: s.minItems ?? 0 }, () => sample(s.items ?? {}, depth + 1));
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const key of s.required ?? []) out[key] = sample(s.properties?.[key] ?? {}, depth + 1);
      return out;
    }
    default:
      return null;
  }
}

/** The object schema a body is, when it is one (the first alternative of a union). */
export function objectShape(schema: JsonSchema): JsonSchema | null {
  const s = merged(alternatives(schema)[0]!);
  return typeOf(s) === 'object' ? s : null;
}
