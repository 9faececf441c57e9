import fc from 'fast-check';
import {
  encodeAny,
  HOSTILE_SUFFIXES,
  HOSTILE_TEXT,
  MALFORMED_BODIES,
  nested,
  RAW_ENCODED,
  RAW_NUMBERS,
  RawJson,
  toJsonText,
  WRONG_TYPES,
} from './hostile-values';
import { type JsonSchema, objectShape, sample, typeOf } from './json-schema-sample';

/** One operation of the OpenAPI document. */
export interface Operation {
  readonly operationId: string;
  readonly method: string;
  /** The path template relative to the API base, e.g. `/spaces/{space}/apps`. */
  readonly path: string;
  readonly access: { readonly kind: string };
  readonly parameters: readonly { name: string; in: 'path' | 'query'; schema: JsonSchema }[];
  readonly body: JsonSchema | null;
}

/** A request to send: everything already encoded as it goes on the wire. */
export interface HostileRequest {
  readonly category: string;
  readonly method: string;
  /** Path and query relative to the API base, percent-encoded. */
  readonly url: string;
  readonly contentType: string | null;
  readonly body: string | null;
}

type Doc = { paths: Record<string, Record<string, Record<string, unknown>>> };

export function operationsOf(doc: Doc): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const content = (op.requestBody as { content?: Record<string, { schema: JsonSchema }> } | undefined)
        ?.content;
      return {
        operationId: op.operationId as string,
        method: method.toUpperCase(),
        path: path.replace(/^\/api\/v1/, ''),
        access: op['x-pier-access'] as { kind: string },
        parameters: (op.parameters ?? []) as Operation['parameters'],
        body: content?.['application/json']?.schema ?? null,
      };
    }),
  );
}

interface Context {
  /** A valid value for each path parameter name. */
  readonly pathValues: Record<string, string>;
  readonly seed: number;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Hostile variants of `op`, derived from its schemas: path parameters, query parameters, whole bodies
 * and each body field (two levels down). At most `budget`, taken evenly across those groups.
 */
export function hostileRequests(op: Operation, ctx: Context, budget: number): HostileRequest[] {
  const url = (values: Record<string, string> = {}, search = '', suffix = '') =>
    op.path.replace(/\{(\w+)\}/g, (_m, name: string) => values[name] ?? ctx.pathValues[name] ?? 'x') +
    suffix +
    (search ? `?${search}` : '');
  const valid = op.body ? sample(op.body) : undefined;
  const req = (category: string, u: string, body: unknown = undefined, contentType = 'application/json') => ({
    category,
    method: op.method,
    url: u,
    contentType: body === undefined ? null : contentType,
    body: body === undefined ? null : typeof body === 'string' ? body : toJsonText(body),
  });
  const random = fc.sample(fc.string({ unit: 'binary', maxLength: 40 }), { seed: ctx.seed, numRuns: 6 });
  const hostile = [...HOSTILE_TEXT, ...random];

  const path = op.parameters
    .filter((p) => p.in === 'path')
    .flatMap(({ name }) => [
      ...hostile.map((v) => req(`path ${name}`, url({ [name]: encodeAny(v) || 'x' }))),
      ...RAW_ENCODED.map((v) => req(`path ${name} raw`, url({ [name]: v }))),
      req(`path ${name} long`, url({ [name]: 'a'.repeat(254) })),
      req(`path ${name} longer`, url({ [name]: 'a'.repeat(3000) })),
    ]);
  const long = [
    req('path extra segments', url({}, '', '/x'.repeat(2000))),
    req('path huge', url({}, '', `/${'a'.repeat(20_000)}`)),
    req('path dot segments', `${url()}/../../../openapi.json`),
  ];
  const query = [
    req('query unknown', url({}, 'fuzz=1')),
    req('query huge value', url({}, `fuzz=${'a'.repeat(12_000)}`)),
    ...op.parameters
      .filter((p) => p.in === 'query')
      .flatMap(({ name }) => [
        ...hostile.map((v) => req(`query ${name}`, url({}, `${name}=${encodeAny(v)}`))),
        ...RAW_ENCODED.map((v) => req(`query ${name} raw`, url({}, `${name}=${v}`))),
        req(`query ${name} repeated`, url({}, `${name}=1&${name}=2`)),
        req(`query ${name} bracketed`, url({}, `${name}[a]=1`)),
        req(`query ${name} long`, url({}, `${name}=${'9'.repeat(5000)}`)),
      ]),
  ];
  const asText = toJsonText(valid ?? {});
  const bodies = [
    req('body form', url(), 'name=fuzz&a=b', 'application/x-www-form-urlencoded'),
    req(
      'body multipart',
      url(),
      '--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--b--',
      'multipart/form-data; boundary=b',
    ),
    req('body text', url(), asText, 'text/plain'),
    req('body xml', url(), '<a/>', 'application/xml'),
    req('body bad charset', url(), asText, 'application/json; charset=utf-16'),
    req('body no content type', url(), asText, ''),
    ...MALFORMED_BODIES.map((b) => req('body malformed', url(), b)),
    req('body deep', url(), { a: new RawJson(nested(5_000)) }),
    req('body keys', url(), { ...(isObject(valid) ? valid : {}), 'k\u0000': 1, '\ud800': 2 }),
    req('body unknown field', url(), { ...(isObject(valid) ? valid : {}), fuzzUnknown: true }),
    ...fc
      .sample(fc.jsonValue({ maxDepth: 3 }), { seed: ctx.seed, numRuns: 4 })
      .map((v) => req('body random', url(), v)),
  ];
  const shape = op.body ? objectShape(op.body) : null;
  const fields =
    shape && isObject(valid) ? fieldVariants(shape, valid, (b) => req('body field', url(), b), 0) : [];
  // Fields weigh double: they are where a body's rules are.
  const groups = [[req('valid', url(), valid)], path, long, query, bodies, fields, fields];
  return roundRobin(groups, budget, ctx.seed);
}

/**
 * Per field of an object (and of the objects and records inside it, two levels down): missing, every
 * wrong type, hostile strings (alone and after a valid value), bounds ±1, raw numbers, huge and deep.
 */
function fieldVariants(
  shape: JsonSchema,
  base: Record<string, unknown>,
  wrap: (value: Record<string, unknown>) => HostileRequest,
  depth: number,
): HostileRequest[] {
  const out: HostileRequest[] = [];
  for (const [field, schema] of Object.entries(shape.properties ?? {})) {
    const set = (value: unknown) => wrap({ ...base, [field]: value });
    const { [field]: _dropped, ...without } = base;
    const valid = base[field] ?? sample(schema);
    out.push(wrap(without), ...WRONG_TYPES.map(set), ...HOSTILE_TEXT.map(set));
    out.push(...RAW_NUMBERS.map((n) => set(new RawJson(n))));
    out.push(set(new RawJson(nested(40))), set(Array(60_000).fill(sample(schema.items ?? schema))));
    const kind = typeOf(schema);
    if (kind === 'string') {
      out.push(...HOSTILE_SUFFIXES.map((h) => set(`${String(valid)}${h}`)), set('x'.repeat(200_000)));
      for (const n of [schema.minLength ?? 0, schema.maxLength ?? 1000])
        out.push(set('a'.repeat(Math.max(0, n - 1))), set('a'.repeat(n)), set('a'.repeat(n + 1)));
    }
    if (kind === 'integer' || kind === 'number')
      for (const n of [schema.minimum, schema.maximum].filter((v) => v !== undefined) as number[])
        out.push(set(n - 1), set(n), set(n + 1));
    if (kind === 'object' && depth < 2) out.push(...innerVariants(schema, valid, set, depth));
  }
  return out;
}

/** Variants inside an object field: its own fields, or hostile keys and values of a record. */
function innerVariants(
  schema: JsonSchema,
  valid: unknown,
  set: (value: unknown) => HostileRequest,
  depth: number,
): HostileRequest[] {
  const inner = objectShape(schema);
  const value = isObject(valid) ? valid : {};
  const out = inner?.properties ? fieldVariants(inner, value, set, depth + 1) : [];
  if (inner && typeof inner.additionalProperties === 'object') {
    const entry = sample(inner.additionalProperties);
    out.push(
      ...HOSTILE_TEXT.map((h) => set({ ...value, FUZZ_KEY: h })),
      ...HOSTILE_TEXT.map((h) => set({ ...value, [h || 'empty']: entry })),
      set(Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`K${i}`, entry]))),
    );
  }
  return out;
}

/**
 * Takes one of each group in turn until `budget` are taken, so every kind of variant is represented;
 * each group is shuffled (seeded) first, so a budget smaller than a group still spreads over it. A group
 * listed twice gives twice as many.
 */
function roundRobin(groups: HostileRequest[][], budget: number, seed: number): HostileRequest[] {
  const shuffled = new Map(
    groups.map((g, i) => [
      g,
      fc.sample(fc.shuffledSubarray(g, { minLength: g.length }), { seed: seed + i, numRuns: 1 })[0]!,
    ]),
  );
  const queues = groups.map((g) => shuffled.get(g)!);
  const out: HostileRequest[] = [];
  while (out.length < budget && queues.some((q) => q.length > 0))
    for (const q of queues) if (q.length > 0 && out.length < budget) out.push(q.shift()!);
  return out;
}
