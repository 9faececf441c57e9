import { z } from 'zod';
import { dnsLabelSchema } from './primitives';

/**
 * A Docker image reference: `[registry[:port]/]path[:tag][@sha256:digest]`, lowercase path components,
 * at most 255 characters (Docker's own grammar, without the rarely used uppercase in registry hosts).
 */
export const imageReferenceSchema = z
  .string()
  .max(255)
  .regex(
    /^(?:(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:]+\])(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/,
    'must be an image reference like registry:5000/team/app:1.2',
  );

export const envNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'environment variable names are [A-Za-z_][A-Za-z0-9_]*');

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };
/** Characters an error message must not print as they are: invisible, or able to garble the text. */
const UNPRINTABLE =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u001f\u007f-\u00a0\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]/;

/** `"\r" (U+000D)`: a character as an error message can show it, and its code point. */
function describeChar(char: string): string {
  const code = char.codePointAt(0)!;
  const shown =
    char.length === 1 && UNPRINTABLE.test(char)
      ? (SHORT_ESCAPES[char] ?? `\\u${code.toString(16).padStart(4, '0')}`)
      : char;
  return `"${shown}" (U+${code.toString(16).toUpperCase().padStart(4, '0')})`;
}

/** The first character of `value` that `allowed` (a test of one character) refuses, and where it is. */
function firstRefused(value: string, allowed: RegExp): string {
  let position = 0;
  for (const char of value) {
    position++;
    if (!allowed.test(char)) return `${describeChar(char)} at position ${position}`;
  }
  return 'a character that is not allowed';
}

/** Surrogates only as valid pairs: an unpaired one has no UTF-8 form. */
const PAIRED = '[\\ud800-\\udbff][\\udc00-\\udfff]';
const CONTROLS = '\\u0000-\\u001f\\u007f-\\u009f';

/** What a string may hold: a pattern of one allowed character, and the rule in words for the error. */
interface CharRule {
  readonly char: string;
  readonly rule: string;
}

const DISPLAY_TEXT: CharRule = {
  char: `[^${CONTROLS}\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069\\ud800-\\udfff]|${PAIRED}`,
  rule: 'must not hold control, line-separator or bidirectional-formatting characters',
};
const PROCESS_TEXT: CharRule = {
  char: `[^\\u0000\\ud800-\\udfff]|${PAIRED}`,
  rule: 'cannot hold NUL (U+0000) or an unpaired surrogate: the kernel cannot pass them to a process',
};
const HEADER_VALUE: CharRule = {
  char: '[\\t\\x20-\\x7e]',
  rule:
    'header values are printable ASCII, spaces and tabs (Node’s HTTP client refuses control characters ' +
    'and sends no other character as written)',
};
const HEADER_NAME: CharRule = {
  char: "[!#$%&'*+\\-.^_`|~0-9A-Za-z]",
  rule: "header names are RFC 7230 tokens: letters, digits and ! # $ % & ' * + - . ^ _ ` | ~",
};

/** `schema` refusing any character outside `rule`, with an error naming the first one. */
function ruled(schema: z.ZodString, { char, rule }: CharRule): z.ZodString {
  const one = new RegExp(`^(?:${char})$`);
  return schema.regex(new RegExp(`^(?:${char})*$`), {
    error: (issue) => `${rule}; found ${firstRefused(String(issue.input), one)}`,
  });
}

/** An origin-form request target (RFC 7230): an absolute path of RFC 3986 pchars, then an optional query. */
const URL_PATH = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/;
const URL_PATH_CHAR = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?]$/;

/** Why `path` is not a URL path, pointing at the first offending character. */
function urlPathProblem(path: string): string {
  if (!path.startsWith('/')) return 'it must start with "/"';
  const chars = [...path];
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!;
    if (URL_PATH_CHAR.test(char)) continue;
    if (char === '%') {
      if (/^[0-9A-Fa-f]{2}$/.test(chars.slice(i + 1, i + 3).join(''))) {
        i += 2;
        continue;
      }
      return `"%" at position ${i + 1} does not start a percent-encoded byte (% and two hex digits)`;
    }
    if (char === '#') return `"#" at position ${i + 1} starts a fragment, which is never sent to the server`;
    let encoded = '';
    try {
      encoded = ` as ${encodeURIComponent(char)}`;
    } catch {
      // An unpaired surrogate has no UTF-8 form to encode.
    }
    return `${describeChar(char)} at position ${i + 1} must be percent-encoded${encoded}`;
  }
  return 'it holds a character that is not allowed';
}

/** Headers the probe sets itself: it sends a GET without a body on a connection of its own. */
const PROBE_OWNED_HEADERS = new Set([
  'connection',
  'content-length',
  'expect',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const MAX_PROBE_HEADERS = 32;

/** A record's key errors say what is wrong with the key (its path names it; zod's own message does not). */
const keyError = (issue: { code?: string; issues?: readonly { message: string }[] }) =>
  issue.code === 'invalid_key' ? (issue.issues ?? []).map((i) => i.message).join('; ') : undefined;

const CHECK_KINDS = ['http', 'tcp', 'exec'] as const;

/**
 * A check whose one option fails in a way zod cannot attribute (a bad key, a wrong type) gets the errors of
 * the option it names, rather than zod's bare "Invalid input".
 */
const checkError = (issue: {
  code?: string;
  input?: unknown;
  errors?: readonly (readonly { path: readonly PropertyKey[]; message: string }[])[];
}) => {
  if (issue.code !== 'invalid_union') return undefined;
  const input = issue.input;
  const named = CHECK_KINDS.filter((kind) => typeof input === 'object' && input !== null && kind in input);
  if (named.length !== 1) return 'a check is exactly one of http, tcp or exec';
  const errors = issue.errors?.[CHECK_KINDS.indexOf(named[0]!)] ?? [];
  return errors.map((e) => `${e.path.map(String).join('.')}: ${e.message}`).join('; ') || undefined;
};

const preciseHeaders = z
  .record(ruled(z.string().min(1).max(100), HEADER_NAME), ruled(z.string().max(1000), HEADER_VALUE), {
    error: keyError,
  })
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > MAX_PROBE_HEADERS) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_PROBE_HEADERS} headers` });
    }
    const seen = new Map<string, string>();
    for (const name of names) {
      const lower = name.toLowerCase();
      if (PROBE_OWNED_HEADERS.has(lower)) {
        const message = `${name} is set by the probe itself (a GET without a body, on its own connection)`;
        ctx.addIssue({ code: 'custom', path: [name], message });
      }
      const earlier = seen.get(lower);
      if (earlier !== undefined) {
        const message = `the same header as ${earlier}: header names are case-insensitive`;
        ctx.addIssue({ code: 'custom', path: [name], message });
      }
      seen.set(lower, name);
    }
  });

/** A command line (`argv`): its first element, when there is one, names the program and cannot be empty. */
const preciseArgv = (min: number) =>
  z
    .array(ruled(z.string().max(4096), PROCESS_TEXT))
    .min(min)
    .max(100)
    .refine((argv) => argv.length === 0 || argv[0] !== '', {
      message: 'the first element is the program to run: it cannot be empty',
      path: [0],
    });

/** The string rules a spec is checked with; the structure is the same for both sets. */
interface SpecRules {
  readonly probePath: z.ZodString;
  readonly headers: z.ZodRecord<z.ZodString, z.ZodString>;
  readonly argv: (min: number) => z.ZodArray<z.ZodString>;
  readonly envValue: z.ZodString;
  readonly label: z.ZodString;
  readonly secretKey: z.ZodString;
  readonly cpu: z.ZodNumber;
  readonly memory: z.ZodNumber;
}

/** What the API accepts for a new version: what Docker, Node’s HTTP client and the kernel can run. */
const PRECISE: SpecRules = {
  probePath: z
    .string()
    .max(2000)
    .regex(URL_PATH, {
      error: (issue) => `must be a URL path like /healthz?full=1: ${urlPathProblem(String(issue.input))}`,
    }),
  headers: preciseHeaders,
  argv: preciseArgv,
  envValue: ruled(z.string().max(32 * 1024), PROCESS_TEXT),
  label: ruled(z.string().min(1).max(50), DISPLAY_TEXT),
  // The key of a generic secret (the auth service's own rule for its keys).
  secretKey: z
    .string()
    .regex(
      /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/,
      'secret keys start with a letter or _, then letters, digits, _ . or -',
    ),
  // Below 10 millicores the CFS quota is under 1 ms per 100 ms period, which the kernel refuses.
  cpu: z
    .number()
    .int()
    .min(10, 'at least 10 millicores (0.01 CPU), the smallest CPU limit Docker can set')
    .max(256_000),
  memory: z.number().int().min(6, 'at least 6 MiB, the smallest memory limit Docker accepts').max(1_048_576),
};

/** The rules specs were stored with before the precise ones: every stored spec passes them. */
const STORED: SpecRules = {
  probePath: z.string().startsWith('/').max(2000),
  // Names widened to RFC 7230 tokens, which the precise rules accept.
  headers: z.record(z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$/), z.string().max(1000)),
  argv: (min) => z.array(z.string().max(4096)).min(min).max(100),
  envValue: z.string().max(32 * 1024),
  label: z.string().min(1).max(50),
  secretKey: z.string().min(1).max(128),
  cpu: z.number().int().min(1).max(256_000),
  memory: z.number().int().min(4).max(1_048_576),
};

const seconds = (fallback: number, min: number, max: number) =>
  z.number().int().min(min).max(max).default(fallback);

const probeTiming = {
  initialDelaySeconds: seconds(0, 0, 3600),
  periodSeconds: seconds(10, 1, 3600),
  timeoutSeconds: seconds(1, 1, 3600),
  successThreshold: seconds(1, 1, 100),
  failureThreshold: seconds(3, 1, 100),
};
const port = z.number().int().min(1).max(65535);

function probeAction(rules: SpecRules) {
  return z.union(
    [
      z
        .object({
          http: z.object({ path: rules.probePath, port, headers: rules.headers.optional() }).strict(),
        })
        .strict(),
      z.object({ tcp: z.object({ port }).strict() }).strict(),
      z.object({ exec: z.object({ command: rules.argv(1) }).strict() }).strict(),
    ],
    { error: checkError },
  );
}

export const constraintSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}(==|!=)(?:[A-Za-z0-9._-]{0,63}|\((?:[A-Za-z0-9._-]{1,63})(?: [A-Za-z0-9._-]{1,63})*\))$/,
    'constraints look like key==value, key!=value or key==(a b c)',
  );

function specObject(rules: SpecRules) {
  // Both sides strict: a key neither knows (a misspelt `periodSecond`) is refused, never dropped.
  const probe = z.intersection(probeAction(rules), z.object(probeTiming).strict());
  return z
    .object({
      label: rules.label.optional(),
      image: imageReferenceSchema,
      command: rules.argv(0).optional(),
      args: z.array(rules.argv(0).element).max(100).optional(),
      env: z.record(envNameSchema, rules.envValue, { error: keyError }).default({}),
      secretEnv: z
        .record(envNameSchema, z.object({ secret: dnsLabelSchema, key: rules.secretKey }).strict(), {
          error: keyError,
        })
        .default({}),
      ports: z
        .array(
          z
            .object({ containerPort: port, protocol: z.enum(['http', 'tcp', 'udp']).default('http') })
            .strict(),
        )
        .max(10)
        .default([])
        .refine(
          (ps) => new Set(ps.map((p) => `${p.containerPort}/${p.protocol}`)).size === ps.length,
          'ports must be unique',
        ),
      resources: z
        .object({ cpu: rules.cpu.default(250), memory: rules.memory.default(256) })
        .strict()
        .default({ cpu: 250, memory: 256 }),
      probes: z
        .object({ startup: probe.optional(), readiness: probe.optional(), liveness: probe.optional() })
        .strict()
        .default({}),
      stop: z
        .object({ preStop: probeAction(rules).optional(), gracePeriodSeconds: seconds(30, 0, 3600) })
        .strict()
        .default({ gracePeriodSeconds: 30 }),
      placement: z
        .object({ constraints: z.array(constraintSchema).max(20).default([]) })
        .strict()
        .default({ constraints: [] }),
      registrySecret: dnsLabelSchema.optional(),
      /**
       * Requests the router sends one instance of the version at once (HAProxy's per-server `maxconn`);
       * more wait in the router's bounded queue, then get 503 APP_OVERLOADED. Unset: the router's
       * default (`PIER_ROUTER_SERVER_MAXCONN`). Lower it for servers with a short accept queue.
       */
      maxConcurrentRequests: z
        .number()
        .int('a whole number of requests')
        .min(1, 'at least 1')
        .max(10_000, 'at most 10000')
        .optional(),
      /** Security options; anything beyond the defaults passes the platform's policy gate first. */
      security: z.record(z.string(), z.unknown()).optional(),
    })
    .strict();
}

/** The command line and environment of a version together, in UTF-8 bytes (they travel in one event). */
const PROCESS_BUDGET_BYTES = 256 * 1024;
function utf8Bytes(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

type SpecShape = z.output<ReturnType<typeof specObject>>;

/** Rules across fields that only a whole spec can check. */
function crossFieldRules(spec: SpecShape, ctx: z.RefinementCtx): void {
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  const transports = new Map<string, string>();
  ports.forEach((p, i) => {
    // http and tcp are both TCP to the engine: one published port, two meanings.
    const key = `${p.containerPort}/${p.protocol === 'udp' ? 'udp' : 'tcp'}`;
    const earlier = transports.get(key);
    if (earlier && earlier !== p.protocol) {
      const message = `port ${p.containerPort} is declared as both http and tcp; declare it once`;
      ctx.addIssue({ code: 'custom', path: ['ports', i], message });
    }
    transports.set(key, p.protocol);
  });
  const checkable = new Set(ports.filter((p) => p.protocol !== 'udp').map((p) => p.containerPort));
  const checks = [
    ...(['startup', 'readiness', 'liveness'] as const).map((kind) => ({
      action: spec.probes?.[kind],
      path: ['probes', kind],
    })),
    { action: spec.stop?.preStop, path: ['stop', 'preStop'] },
  ];
  for (const { action, path } of checks) {
    const target =
      action && ('http' in action ? action.http.port : 'tcp' in action ? action.tcp.port : undefined);
    if (target !== undefined && !checkable.has(target)) {
      const message = `port ${target} is not among the version's http/tcp ports: only those are published on the node, where checks reach them`;
      ctx.addIssue({ code: 'custom', path, message });
    }
  }
  const strings = [...(spec.command ?? []), ...(spec.args ?? []), ...Object.entries(spec.env ?? {}).flat()];
  const bytes = strings.reduce((sum, s) => sum + utf8Bytes(s), 0);
  if (bytes > PROCESS_BUDGET_BYTES) {
    const message = `command, args and env together must stay under ${PROCESS_BUDGET_BYTES / 1024} KiB (they are ${Math.ceil(bytes / 1024)} KiB)`;
    ctx.addIssue({ code: 'custom', path: ['env'], message });
  }
}

/** What a probe checks: an HTTP GET answered with a status in [200, 400), a TCP connect, or a command exiting 0. */
export const probeActionSchema = probeAction(PRECISE);

/** A probe with Kubernetes' timing and defaults (initial delay 0 s, period 10 s, timeout 1 s, success 1, failure 3). */
export const probeSchema = z.intersection(probeActionSchema, z.object(probeTiming).strict());
export type Probe = z.output<typeof probeSchema>;

/**
 * Everything that defines how one version of an app runs, as the API accepts it: only what the engine,
 * the probes and the kernel can run, each refusal naming the field and the offending character.
 * Immutable once created.
 */
export const versionSpecSchema = specObject(PRECISE).superRefine(crossFieldRules);
export type VersionSpec = z.output<typeof versionSpecSchema>;
export type VersionSpecInput = z.input<typeof versionSpecSchema>;

/**
 * Every spec that was ever stored: the same structure with the looser string rules of before (specs
 * accepted by `versionSpecSchema` pass it too). Read stored events with it, so that a version created
 * before the precise rules still reads; an agent checks what it is given against it and runs nothing
 * that does not pass.
 */
export const storedVersionSpecSchema = specObject(STORED);

/** Traffic weights per version number: up to two decimals, summing to 100. */
export const weightsSchema = z
  .record(z.string().regex(/^[1-9][0-9]{0,5}$/, 'keys are version numbers'), z.number().min(0).max(100))
  .refine((w) => Object.keys(w).length > 0, 'at least one version')
  .refine(
    (w) =>
      Object.values(w).every(
        (v) => Math.round(v * 100) === v * 100 || Math.abs(Math.round(v * 100) - v * 100) < 1e-6,
      ),
    'weights have at most two decimals',
  )
  .refine(
    (w) => Math.round(Object.values(w).reduce((a, b) => a + b, 0) * 100) === 10_000,
    'weights must sum to 100',
  );
export type Weights = z.infer<typeof weightsSchema>;

/**
 * A host name (RFC 1123): lowercase labels of letters, digits and inner hyphens, at most 253 characters,
 * at least two labels, and a last label that is not all digits (so no IPv4 address passes as a name).
 */
export const hostnameSchema = z
  .string()
  .max(253)
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(\.(?![0-9]+$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$/,
    'must be a lowercase host name like app.example.com',
  );
