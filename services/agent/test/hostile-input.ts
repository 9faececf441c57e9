import fc from 'fast-check';
import { WEB_COMMAND } from './runtime-harness';

/**
 * What a hostile tenant puts in a spec, as fast-check arbitraries. The API refuses most of it now; the
 * agent must survive all of it anyway (specs stored before the API checked them reach it unchanged).
 */

/** Pieces that break naive handling: controls, separators, escapes, encodings, surrogates. */
const PIECES = [
  'a',
  '/',
  ' ',
  '\r\n',
  '\r',
  '\n',
  '\u0000',
  '\t',
  '\u0001',
  '\u001b[2J',
  '\u007f',
  '\u0085',
  '%',
  '%zz',
  '%41',
  '#',
  '?',
  '&',
  '=',
  ':',
  '"',
  "'",
  '\\',
  '..',
  'é',
  'ÿ',
  'Ā',
  '\u2028',
  '\u202e',
  '\ud800',
  '\udc00',
  '😀',
];

/**
 * A hostile string: spliced pieces, any code points, or a long one. `beyondLimits` adds strings longer
 * than any stored spec may hold (one of them makes a whole spec unreadable).
 */
export const hostileString = (maxLength = 40, beyondLimits = true): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }).map((p) => p.join('')) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength }) },
    // Long: at the edge of the stored limits (4096 for arguments, 2000 for paths), and far beyond them.
    { weight: 1, arbitrary: fc.constantFrom('', 'x'.repeat(4000), '\u0000'.repeat(500), '/'.repeat(1900)) },
    { weight: beyondLimits ? 1 : 0, arbitrary: fc.constantFrom('x'.repeat(70_000), '%'.repeat(100_000)) },
  );
/** Hostile, yet within what a stored spec may hold. */
const fitting = () => hostileString(40, false);

export const hostilePath: fc.Arbitrary<string> = fc.oneof(
  hostileString().map((s) => `/${s}`),
  hostileString(),
);

const specialHeader = fc.constantFrom('X-Probe', 'Host', 'Content-Length', 'Transfer-Encoding', 'Expect');
const headers = (names: fc.Arbitrary<string>, values: fc.Arbitrary<string>) =>
  fc.dictionary(names, fc.oneof(values, fc.constantFrom('1', 'chunked', '100-continue', '-1')), {
    maxKeys: 4,
  });

export const hostileHeaders: fc.Arbitrary<Record<string, string>> = headers(
  fc.oneof(hostileString(20), specialHeader),
  hostileString(),
);
/** Names a stored spec may hold (RFC 7230 tokens), hostile values. */
const storableHeaders = headers(
  fc.oneof(fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,20}$/), specialHeader),
  fitting(),
);

/** Numbers that are no TCP port (never a real one: the fuzz must not probe other people's services). */
export const weirdPort: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -100_000, max: 0 }),
  fc.integer({ min: 65_536, max: 10_000_000 }),
  fc.constantFrom(1.5, -0, Number.NaN, Number.POSITIVE_INFINITY, -Number.MAX_VALUE, Number.MAX_SAFE_INTEGER),
);

/** A probe or preStop action aimed at the web container of `webSpec`, with hostile content. */
const hostileAction = fc.oneof(
  fc.record({
    http: fc.record({
      // Mostly what stored paths start with; some that never did.
      path: fc.oneof(
        { weight: 6, arbitrary: fitting().map((p) => `/${p}`) },
        { weight: 1, arbitrary: fitting() },
      ),
      port: fc.constant(8080),
      headers: storableHeaders,
    }),
  }),
  fc.record({ tcp: fc.record({ port: fc.constantFrom(8080, 8081) }) }),
  fc.record({ exec: fc.record({ command: fc.array(fitting(), { minLength: 1, maxLength: 4 }) }) }),
  // Output a terminal or PostgreSQL would choke on, from inside the container.
  fc.constant({ exec: { command: ['sh', '-c', 'printf "\\000\\033[2J\\377\\376"; exit 1'] } }),
);

const timing = fc.record({
  periodSeconds: fc.constant(1),
  timeoutSeconds: fc.constant(1),
  failureThreshold: fc.integer({ min: 1, max: 2 }),
});

const envName = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,10}$/);

/**
 * A spec with the structure of a stored one and hostile content: probes, preStop, env, command, args.
 * Readiness always has a hostile probe, so that a transition shows the probes ran; a startup or liveness
 * probe may join it.
 */
const readableHostileSpec = fc
  .record({
    readiness: fc.tuple(hostileAction, timing).map(([action, t]) => ({ ...action, ...t })),
    other: fc.option(
      fc.record({
        kind: fc.constantFrom('startup', 'liveness'),
        probe: fc.tuple(hostileAction, timing).map(([action, t]) => ({ ...action, ...t })),
      }),
      { nil: undefined },
    ),
    preStop: fc.option(hostileAction, { nil: undefined }),
    env: fc.dictionary(envName, fitting(), { maxKeys: 3 }),
    command: fc.option(
      fc.oneof(
        fc.array(fitting(), { minLength: 1, maxLength: 3 }),
        fitting().map((s) => ['sh', '-c', `echo '${s.replace(/'/g, '')}' >/dev/null; ${WEB_COMMAND[2]}`]),
      ),
      { nil: undefined },
    ),
    args: fc.option(fc.array(fitting(), { maxLength: 3 }), { nil: undefined }),
  })
  .map(({ readiness, other, preStop, env, command, args }) => ({
    image: 'pier/busybox:latest',
    command: command ?? WEB_COMMAND,
    ...(args ? { args } : {}),
    env,
    ports: [
      { containerPort: 8080, protocol: 'http' },
      { containerPort: 8081, protocol: 'tcp' },
    ],
    resources: { cpu: 1000, memory: 32 },
    probes: { readiness, ...(other ? { [other.kind]: other.probe } : {}) },
    stop: { gracePeriodSeconds: 1, ...(preStop ? { preStop } : {}) },
  }));

/** Specs no version of the API ever accepted: the agent must refuse them, not trip over them. */
export const unreadableSpec: fc.Arbitrary<unknown> = fc.constantFrom(
  null,
  'pier/busybox:latest',
  { image: 'pier/busybox:latest', ports: 'all' },
  { image: 'pier/busybox:latest', probes: { readiness: { http: { path: 5, port: 8080 } } } },
  { image: 'pier/busybox:latest', probes: { liveness: { tcp: { port: 70_000 } } } },
  { image: 'pier/busybox:latest', resources: { cpu: -1, memory: Number.MAX_SAFE_INTEGER } },
  { image: 'pier/busybox:latest', stop: { gracePeriodSeconds: 1e9 } },
);

/** What a node may be given: mostly specs a store may hold, with hostile content; some no API accepted. */
export const hostileSpec: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: readableHostileSpec },
  { weight: 1, arbitrary: unreadableSpec },
);

/**
 * `fc.assert`, with a failure message of readable size: counterexamples hold strings of up to 100,000
 * characters, which fast-check would print whole.
 */
export async function assertProperty<T>(
  property: fc.IAsyncProperty<T>,
  params: fc.Parameters<T> = {},
): Promise<void> {
  const details = await fc.check(property, params);
  if (!details.failed) return;
  const shown = JSON.stringify(details.counterexample, (_key, value: unknown) =>
    typeof value === 'string' && value.length > 200
      ? `${value.slice(0, 200)}…(${value.length} characters)`
      : value,
  );
  const cause =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `property failed (seed ${details.seed}, path ${details.counterexamplePath}) on ${shown.slice(0, 4000)}\n${cause}`,
  );
}
