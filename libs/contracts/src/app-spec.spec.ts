import { validateHeaderName, validateHeaderValue } from 'node:http';
import fc from 'fast-check';
import {
  hostnameSchema,
  probeActionSchema,
  storedVersionSpecSchema,
  versionSpecSchema,
  type VersionSpecInput,
} from './app-spec';

const web = (extra: Partial<VersionSpecInput> = {}): VersionSpecInput => ({
  image: 'pier/busybox:latest',
  ports: [{ containerPort: 8080, protocol: 'http' }],
  ...extra,
});

/** The messages of a refusal, each prefixed with its path (`probes.readiness: …`). */
function refusal(input: unknown): string[] {
  const parsed = versionSpecSchema.safeParse(input);
  if (parsed.success) throw new Error(`accepted: ${JSON.stringify(input)}`);
  return parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const withPath = (path: string) => web({ probes: { readiness: { http: { path, port: 8080 } } } });
const withHeaders = (headers: Record<string, string>) =>
  web({ probes: { readiness: { http: { path: '/', port: 8080, headers } } } });
const withExec = (command: string[]) => web({ probes: { liveness: { exec: { command } } } });

describe('versionSpecSchema: what the API accepts for a new version', () => {
  it('accepts a realistic spec, unicode and multi-line values included', () => {
    const spec = versionSpecSchema.parse(
      web({
        label: 'v1.2 – café ✓ 🚀',
        command: ['sh', '-c', 'exec httpd -f -p 8080'],
        args: ['', 'tab\there', 'line\nbreak'],
        env: { PEM: '-----BEGIN KEY-----\nabc\n-----END KEY-----\n', GREETING: 'grüß dich 👋' },
        secretEnv: { DB: { secret: 'db', key: 'app.password_1' } },
        resources: { cpu: 10, memory: 6 },
        probes: {
          startup: { tcp: { port: 8080 } },
          readiness: {
            http: {
              path: "/a/b;c=d/~e/:f@g!$&'()*+,=?x=%20&y=/?z",
              port: 8080,
              headers: { 'X-Probe': 'a\tb ~' },
            },
          },
          liveness: { exec: { command: ['cat', '/tmp/healthy'] } },
        },
        stop: { preStop: { http: { path: '//double/slash', port: 8080 } }, gracePeriodSeconds: 5 },
      }),
    );
    expect(spec.resources).toEqual({ cpu: 10, memory: 6 });
  });

  describe('probe paths are URL paths (RFC 3986 pchars, an optional query, valid %XX)', () => {
    it.each([
      [
        '/a b',
        'probes.readiness.http.path: must be a URL path like /healthz?full=1: " " (U+0020) at position 3 must be percent-encoded as %20',
      ],
      ['/a\r\nb', '"\\r" (U+000D) at position 3 must be percent-encoded as %0D'],
      ['/x\u0000', '"\\u0000" (U+0000) at position 3 must be percent-encoded as %00'],
      ['/caf\u00e9', '"é" (U+00E9) at position 5 must be percent-encoded as %C3%A9'],
      ['/\ud800', '"\\ud800" (U+D800) at position 2 must be percent-encoded'],
      ['/a%zz', '"%" at position 3 does not start a percent-encoded byte'],
      ['/a%2', '"%" at position 3 does not start a percent-encoded byte'],
      ['/a#top', '"#" at position 3 starts a fragment, which is never sent to the server'],
      ['healthz', 'it must start with "/"'],
      ['', 'it must start with "/"'],
    ])('refuses %j, naming the character', (path, message) => {
      expect(refusal(withPath(path)).join('\n')).toContain(message);
    });

    it('refuses a path longer than 2000 characters', () => {
      expect(refusal(withPath(`/${'a'.repeat(2000)}`))).toEqual([
        'probes.readiness.http.path: Too big: expected string to have <=2000 characters',
      ]);
    });
  });

  describe('probe headers: names are RFC 7230 tokens, values printable ASCII', () => {
    it('accepts tokens and tabs', () => {
      expect(
        versionSpecSchema.safeParse(withHeaders({ "!#$%&'*+-.^_`|~09AZaz": 'x', x_y: '\t~ ' })).success,
      ).toBe(true);
    });

    it.each([
      [
        { 'x y': 'v' },
        'probes.readiness: http.headers.x y: header names are RFC 7230 tokens',
        '" " (U+0020) at position 2',
      ],
      [{ 'a:b': 'v' }, 'http.headers.a:b: header names are RFC 7230 tokens', '":" (U+003A) at position 2'],
      [{ '': 'v' }, 'http.headers.: Too small'],
      [{ ['h'.repeat(101)]: 'v' }, 'Too big'],
      [{ x: 'a\r\nInjected: 1' }, 'header values are printable ASCII', '"\\r" (U+000D) at position 2'],
      [{ x: 'a\u0000' }, '"\\u0000" (U+0000) at position 2'],
      [{ x: '\u007f' }, '"\\u007f" (U+007F) at position 1'],
      [{ x: 'caf\u00e9' }, '"é" (U+00E9) at position 4'],
      [{ x: '\u2028' }, '"\\u2028" (U+2028) at position 1'],
      [{ 'Content-Length': '5' }, 'Content-Length is set by the probe itself'],
      [{ 'Transfer-Encoding': 'chunked' }, 'Transfer-Encoding is set by the probe itself'],
      [{ 'X-A': '1', 'x-a': '2' }, 'x-a: the same header as X-A: header names are case-insensitive'],
    ])('refuses %j', (headers, ...messages) => {
      const text = refusal(withHeaders(headers)).join('\n');
      for (const message of messages) expect(text).toContain(message);
    });

    it('refuses more than 32 headers', () => {
      const headers = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`x-${i}`, 'v']));
      expect(refusal(withHeaders(headers))).toEqual(['probes.readiness.http.headers: at most 32 headers']);
    });
  });

  describe('what reaches a process (command, args, env, exec probes) holds no NUL', () => {
    it.each([
      [web({ command: ['sh', 'a\u0000b'] }), 'command.1: cannot hold NUL (U+0000) or an unpaired surrogate'],
      [web({ args: ['\u0000'] }), 'args.0: cannot hold NUL'],
      [web({ env: { A: 'x\u0000' } }), 'env.A: cannot hold NUL', 'found "\\u0000" (U+0000) at position 2'],
      [web({ env: { A: 'x\udc00' } }), 'env.A: cannot hold NUL', '"\\udc00" (U+DC00) at position 2'],
      [withExec(['cat', '/tmp/\u0000']), 'probes.liveness.exec.command.1: cannot hold NUL'],
      [withExec([]), 'probes.liveness.exec.command: Too small'],
      [withExec(['', 'x']), 'probes.liveness.exec.command.0: the first element is the program to run'],
      [web({ command: [''] }), 'command.0: the first element is the program to run: it cannot be empty'],
    ])('refuses %j', (spec, ...messages) => {
      const text = refusal(spec).join('\n');
      for (const message of messages) expect(text).toContain(message);
    });

    it('keeps command, args and env under 256 KiB together', () => {
      const env = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`V${i}`, 'x'.repeat(30 * 1024)]));
      expect(refusal(web({ env }))).toEqual([
        'env: command, args and env together must stay under 256 KiB (they are 271 KiB)',
      ]);
      delete env.V8;
      expect(versionSpecSchema.safeParse(web({ env })).success).toBe(true);
    });
  });

  it.each([
    ['\u001b[31mred', '"\\u001b" (U+001B) at position 1'],
    ['two\nlines', '"\\n" (U+000A) at position 4'],
    ['del\u007f', '"\\u007f" (U+007F) at position 4'],
    ['c1\u0085', '"\\u0085" (U+0085) at position 3'],
    ['evil\u202egnp.exe', '"\\u202e" (U+202E) at position 5'],
  ])('refuses a label holding control or formatting characters: %j', (label, found) => {
    expect(refusal(web({ label }))).toEqual([
      `label: must not hold control, line-separator or bidirectional-formatting characters; found ${found}`,
    ]);
  });

  it('refuses secret keys a generic secret cannot have', () => {
    expect(refusal(web({ secretEnv: { A: { secret: 'db', key: 'a b' } } }))).toEqual([
      'secretEnv.A.key: secret keys start with a letter or _, then letters, digits, _ . or -',
    ]);
  });

  it('refuses resource limits Docker cannot set', () => {
    expect(refusal(web({ resources: { cpu: 9, memory: 5 } }))).toEqual([
      'resources.cpu: at least 10 millicores (0.01 CPU), the smallest CPU limit Docker can set',
      'resources.memory: at least 6 MiB, the smallest memory limit Docker accepts',
    ]);
  });

  it('refuses checks on ports that are not published, and a port declared as both http and tcp', () => {
    expect(
      refusal(
        web({
          ports: [
            { containerPort: 8080, protocol: 'http' },
            { containerPort: 8080, protocol: 'tcp' },
            { containerPort: 53, protocol: 'udp' },
          ],
          probes: { readiness: { tcp: { port: 9090 } } },
          stop: { preStop: { http: { path: '/', port: 53 } } },
        }),
      ),
    ).toEqual([
      'ports.1: port 8080 is declared as both http and tcp; declare it once',
      "probes.readiness: port 9090 is not among the version's http/tcp ports: only those are published on the node, where checks reach them",
      "stop.preStop: port 53 is not among the version's http/tcp ports: only those are published on the node, where checks reach them",
    ]);
    expect(probeActionSchema.safeParse({ exec: { command: ['true'] } }).success).toBe(true);
  });

  it('takes a whole number of concurrent requests per instance for the router, from 1 to 10000', () => {
    expect(versionSpecSchema.parse(web({ maxConcurrentRequests: 4 })).maxConcurrentRequests).toBe(4);
    expect(versionSpecSchema.parse(web()).maxConcurrentRequests).toBeUndefined();
    for (const bad of [0, -1, 1.5, 10_001, Number.MAX_SAFE_INTEGER * 2, '8', null]) {
      const problems = refusal(web({ maxConcurrentRequests: bad as never }));
      expect(problems.length).toBeGreaterThan(0);
      for (const problem of problems) expect(problem).toMatch(/^maxConcurrentRequests: /);
    }
    expect(storedVersionSpecSchema.parse(web({ maxConcurrentRequests: 4 })).maxConcurrentRequests).toBe(4);
  });

  it('refuses a field no probe has (a misspelt timing is not silently dropped)', () => {
    const probe = { http: { path: '/', port: 8080 }, periodSecond: 2 };
    expect(versionSpecSchema.safeParse(web({ probes: { readiness: probe as never } })).success).toBe(false);
    const timed = { http: { path: '/', port: 8080 }, periodSeconds: 2 };
    expect(versionSpecSchema.parse(web({ probes: { readiness: timed } })).probes.readiness).toMatchObject(
      timed,
    );
  });
});

describe('storedVersionSpecSchema: every spec stored before the precise rules still reads', () => {
  it('accepts what the API took before (a spaced path, CR/LF in a header, NUL in env, 4 MiB)', () => {
    const old = {
      image: 'pier/busybox:latest',
      label: 'tab\there',
      env: { A: '\u0000' },
      resources: { cpu: 1, memory: 4 },
      probes: { readiness: { http: { path: '/a b', port: 9999, headers: { X: 'a\r\nb' } } } },
    };
    expect(versionSpecSchema.safeParse(old).success).toBe(false);
    expect(storedVersionSpecSchema.parse(old).probes.readiness).toMatchObject({ http: { path: '/a b' } });
  });

  it('still refuses what never was a spec', () => {
    expect(storedVersionSpecSchema.safeParse({ image: 'pier/busybox:latest', ports: 'all' }).success).toBe(
      false,
    );
    expect(
      storedVersionSpecSchema.safeParse({ image: 'pier/busybox:latest', probes: { readiness: {} } }).success,
    ).toBe(false);
  });
});

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Strings a hostile tenant would try: controls, separators, surrogates, non-ASCII, very long. */
const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc
    .array(
      fc.constantFrom(
        'a',
        '/',
        ' ',
        '\r\n',
        '\u0000',
        '\t',
        '%',
        '%zz',
        '%41',
        '#',
        '?',
        'é',
        '\u2028',
        '\ud800',
        '\udc00',
        '😀',
        ':',
        '\u007f',
      ),
      { maxLength: 12 },
    )
    .map((parts) => `/${parts.join('')}`),
  fc.string({ maxLength: 3000 }),
);

describe('versionSpecSchema against what Node and the kernel refuse (property)', () => {
  it('every probe path and header it accepts, Node’s HTTP client sends; the stored schema accepts it too', () => {
    fc.assert(
      fc.property(hostile, hostile, hostile, (path, name, value) => {
        const spec = withHeaders({ [name]: value });
        (spec.probes!.readiness as { http: { path: string } }).http.path = path;
        const parsed = versionSpecSchema.safeParse(spec);
        if (!parsed.success) return;
        const http = (
          parsed.data.probes.readiness as { http: { path: string; headers: Record<string, string> } }
        ).http;
        expect(() => validateHeaderName(name)).not.toThrow();
        expect(() => validateHeaderValue(name, value)).not.toThrow();
        expect(http.path).toMatch(/^\/[\x21-\x7e]*$/);
        expect(storedVersionSpecSchema.parse(spec)).toEqual(parsed.data);
      }),
      { numRuns: 2000 },
    );
  });

  it('every argument and environment value it accepts can be passed to a process', () => {
    fc.assert(
      fc.property(fc.array(hostile, { maxLength: 4 }), hostile, (args, value) => {
        const parsed = versionSpecSchema.safeParse(web({ args, env: { VALUE: value } }));
        const passable = (s: string) => !s.includes('\u0000') && !LONE_SURROGATE.test(s);
        expect(parsed.success).toBe(args.every(passable) && passable(value));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('hostnameSchema', () => {
  it.each(['app.example.com', 'a.b1', 'x.1a', '1.example.com', `${'a'.repeat(63)}.io`])(
    'accepts %s',
    (host) => {
      expect(hostnameSchema.safeParse(host).success).toBe(true);
    },
  );
  it.each([
    '1.2.3.4',
    'a.123',
    'localhost',
    'App.example.com',
    'a..b',
    '-a.b',
    'a.b.',
    `${'a'.repeat(64)}.io`,
  ])('refuses %s', (host) => {
    expect(hostnameSchema.safeParse(host).success).toBe(false);
  });
});
