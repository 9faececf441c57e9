import { request as httpRequest } from 'node:http';
import { CreateApiToken, subjectsFor } from '@pier/contracts';
import { RpcClient } from '@pier/messaging';
import { connectTestNats, deleteStreams, httpJson } from '@pier/testing';
import { type Platform, startPlatform } from '../platform';
import { createTenant, expectStatus, type Tenant } from './tenants';

type ErrorReply = { error: { code: string; message: string; details?: Record<string, unknown> } };
type Page = { items: unknown[]; nextCursor: string | null };

const b64 = (text: string) => Buffer.from(text).toString('base64url');

/**
 * Issue 9's hostile-input findings, each re-tried exactly as reported, against the whole control plane
 * (real processes, NATS, Postgres): every one is a 4xx in the house format now, and nothing is stored.
 */
describe('hostile input: every finding is a 4xx, and nothing poisons the stores', () => {
  let platform: Platform;
  let admin: string;
  let clusterId: string;
  let ann: Tenant;

  beforeAll(async () => {
    platform = await startPlatform('hostile-input');
    admin = await platform.login(platform.admin.email, platform.admin.password);
    clusterId = expectStatus(
      await platform.call<{ id: string }>(admin, 'POST', '/clusters', { name: 'main' }),
      201,
      'creating cluster main',
    ).id;
    ann = await createTenant(platform, admin, 'ann', 'main');
  });

  afterAll(async () => {
    for (const p of platform?.processes ?? [])
      if (p.child.exitCode !== null) process.stderr.write(`${p.name} exited:\n${p.output()}\n`);
    await platform?.stop();
    const nc = await connectTestNats();
    await deleteStreams(nc, platform.prefix);
    await nc.close();
  });

  const as = (token: string, method: string, path: string, body?: unknown) =>
    platform.call<ErrorReply>(token, method, path, body);
  /**
   * A body over the limit: the server answers 413 from its Content-Length and closes, before reading it,
   * so a client writing all of it may fail with EPIPE first. Only its start is sent; the answer counts.
   */
  const sendOversize = (token: string, path: string, body: string) =>
    new Promise<{ status: number; body: ErrorReply }>((resolve, reject) => {
      const url = new URL(`${platform.api}${path}`);
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as ErrorReply });
            req.destroy();
          });
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 1024));
    });
  const expectError = (reply: { status: number; body: unknown }, status: number, code: string) =>
    expect({ status: reply.status, code: (reply.body as ErrorReply).error?.code }).toEqual({ status, code });

  it('refuses a NUL in a token name (was 201, then never usable nor revocable)', async () => {
    const reply = await as(ann.session, 'POST', '/tokens', { name: 'ci\u0000' });
    expectError(reply, 400, 'VALIDATION_FAILED');
    expect(reply.body.error.details).toMatchObject({ in: 'body', path: 'name', problem: 'NUL character' });
    const tokens = expectStatus(await platform.call<Page>(ann.session, 'GET', '/tokens'), 200, 'tokens');
    expect(JSON.stringify(tokens)).not.toContain('\\u0000');
  });

  it('refuses a NUL in env at once, and the next version is numbered as if it never came (was a 500 after 3 s)', async () => {
    const versions = `/spaces/${ann.space}/apps/web/versions`;
    const started = Date.now();
    const reply = await as(ann.session, 'POST', versions, { ...ann.spec, env: { A: 'x\u0000y' } });
    expectError(reply, 400, 'VALIDATION_FAILED');
    expect(reply.body.error.details).toMatchObject({ in: 'body', path: 'env.A' });
    expect(Date.now() - started).toBeLessThan(1000);
    const next = expectStatus(
      await platform.call<{ version: number }>(ann.session, 'POST', versions, ann.spec),
      201,
      'the next version',
    );
    expect(next.version).toBe(2);
  });

  it('refuses a NUL in a login email without authenticating (was 500)', async () => {
    const reply = await httpJson<ErrorReply>('POST', `${platform.api}/auth/login`, {
      email: `${ann.email}\u0000`,
      password: ann.password,
    });
    expectError(reply, 400, 'VALIDATION_FAILED');
  });

  it.each([
    ['actor', (t: Tenant) => `/spaces/${t.space}/audit?actor=x%00y`],
    ['action', () => '/audit?action=%00'],
  ])('refuses a NUL in the audit filter %s (was 500)', async (_filter, path) => {
    expectError(await as(admin, 'GET', path(ann)), 400, 'VALIDATION_FAILED');
  });

  it('refuses unpaired surrogates in values and in keys', async () => {
    const patch = await as(ann.session, 'PATCH', `/spaces/${ann.space}`, '{"displayName":"a\\ud800"}');
    expectError(patch, 400, 'VALIDATION_FAILED');
    expect(patch.body.error.details).toMatchObject({ problem: 'unpaired surrogate', path: 'displayName' });
    const secret = await as(
      ann.session,
      'POST',
      `/spaces/${ann.space}/secrets`,
      '{"name":"other","value":{"kind":"generic","data":{"\\udc00":"v"}}}',
    );
    expectError(secret, 400, 'VALIDATION_FAILED');
  });

  it('refuses them from an internal caller too: the RPC layer checks every request', async () => {
    const nc = await connectTestNats();
    try {
      const rpc = new RpcClient(nc, subjectsFor(platform.prefix));
      await expect(
        rpc.call(
          CreateApiToken,
          { userId: ann.id, name: 'internal\u0000' },
          { actor: { kind: 'service', id: 'test' }, correlationId: 'nul' },
        ),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    } finally {
      await nc.close();
    }
    const tokens = expectStatus(await platform.call<Page>(ann.session, 'GET', '/tokens'), 200, 'tokens');
    expect(JSON.stringify(tokens)).not.toContain('internal');
  });

  describe('cursors a list did not produce are 400 (?cursor=AAAA was a 500)', () => {
    const lists: [string, (t: Tenant) => string, 'admin' | 'tenant'][] = [
      ['spaces', () => '/spaces', 'tenant'],
      ['apps', (t) => `/spaces/${t.space}/apps`, 'tenant'],
      ['app events', (t) => `/spaces/${t.space}/apps/web/events`, 'tenant'],
      ['space audit', (t) => `/spaces/${t.space}/audit`, 'tenant'],
      ['platform audit', () => '/audit', 'admin'],
      ['users', () => '/users', 'admin'],
      ['clusters', () => '/clusters', 'admin'],
      ['nodes', () => '/nodes', 'admin'],
    ];
    /** Not what any list produces: bytes Postgres refuses, keys of no list's shape, broken base64url. */
    const forged = [
      'AAAA', // three NUL bytes
      b64('["\u0000"]'),
      b64('[]'),
      b64('["main","not-a-uuid"]'),
      b64('-1'),
      b64('a b'),
      'AAA', // not the canonical base64url of anything
      '!!!!',
      'A'.repeat(600),
    ];
    it.each(lists)('on %s', async (_what, path, who) => {
      const token = who === 'admin' ? admin : ann.session;
      const answers: string[] = [];
      for (const cursor of forged) {
        const reply = await as(token, 'GET', `${path(ann)}?cursor=${encodeURIComponent(cursor)}`);
        answers.push(`${cursor.slice(0, 20)} ${reply.status} ${reply.body.error?.code}`);
      }
      expect(answers).toEqual(forged.map((c) => `${c.slice(0, 20)} 400 VALIDATION_FAILED`));
    });

    it('on the nodes of a cluster', async () => {
      expectError(
        await as(admin, 'GET', `/clusters/${clusterId}/nodes?cursor=AAAA`),
        400,
        'VALIDATION_FAILED',
      );
    });

    it('and still follows the cursors it produced', async () => {
      for (const [path, token] of [
        ['/users', admin],
        ['/spaces', ann.session],
        [`/spaces/${ann.space}/audit`, ann.session],
      ] as const) {
        const first = expectStatus(await platform.call<Page>(token, 'GET', `${path}?limit=1`), 200, path);
        expect(first.nextCursor).not.toBeNull();
        const cursor = encodeURIComponent(first.nextCursor!);
        const second = expectStatus(
          await platform.call<Page>(token, 'GET', `${path}?limit=1&cursor=${cursor}`),
          200,
          path,
        );
        expect(second.items).toHaveLength(1);
        expect(second.items[0]).not.toEqual(first.items[0]);
      }
    });
  });

  it.each([
    ['form-urlencoded', 'application/x-www-form-urlencoded', 'name=formed'],
    [
      'multipart',
      'multipart/form-data; boundary=x',
      '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nformed\r\n--x--',
    ],
    ['text', 'text/plain', '{"name":"formed"}'],
  ])('answers 415 to a %s body (a form body was accepted)', async (_what, contentType, body) => {
    for (const [method, path, token] of [
      ['POST', '/spaces', ann.session],
      ['POST', '/auth/login', ''],
      ['PUT', `/spaces/${ann.space}/quota`, admin],
      ['DELETE', `/spaces/${ann.space}/secrets/db`, ann.session],
    ]) {
      const response = await fetch(`${platform.api}${path}`, {
        method,
        headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body,
      });
      expectError({ status: response.status, body: await response.json() }, 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
    expectStatus(
      await platform.call(ann.session, 'GET', `/spaces/${ann.space}/secrets/db`),
      200,
      'the secret',
    );
  });

  it.each(['1e0', '0x1', ' 1', '+1', '01', '1.0', '1e3', '0x10', ' 7', '+7', '07', '-0'])(
    'refuses the version number %j (it was coerced: 1e0 stopped version 1)',
    async (n) => {
      const path = `/spaces/${ann.space}/apps/web/versions/${encodeURIComponent(n)}/stop`;
      expectError(await as(ann.session, 'POST', path), 400, 'VALIDATION_FAILED');
    },
  );

  it('refuses unknown fields on stop (they were ignored) and unknown query parameters', async () => {
    const stop = `/spaces/${ann.space}/apps/web/versions/1/stop`;
    expectError(await as(ann.session, 'POST', stop, { instances: 3 }), 400, 'VALIDATION_FAILED');
    expectStatus(await platform.call(ann.session, 'POST', stop, {}), 202, 'stop with {}');
    expectStatus(await platform.call(ann.session, 'POST', stop), 202, 'stop without a body');
    expectError(await as(ann.session, 'GET', '/spaces?limt=1'), 400, 'VALIDATION_FAILED');
    expectError(
      await as(ann.session, 'GET', `/spaces/${ann.space}/apps/web?verbose=1`),
      400,
      'VALIDATION_FAILED',
    );
  });

  it.each([
    ['126', `${'a'.repeat(63)}.${'b'.repeat(50)}.example.org`],
    ['253', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.org`],
  ])('removes a %s-character host it added (was 414 in Fastify’s format)', async (length, host) => {
    expect(host).toHaveLength(Number(length));
    const domains = `/spaces/${ann.space}/apps/web/domains`;
    expectStatus(await platform.call(ann.session, 'POST', domains, { host }), 200, 'adding the host');
    const removed = expectStatus(
      await platform.call<{ domains: string[] }>(ann.session, 'DELETE', `${domains}/${host}`),
      200,
      'removing the host',
    );
    expect(removed.domains).not.toContain(host);
  });

  it('answers oversize parameters with a 4xx', async () => {
    const replies = [
      await as(ann.session, 'GET', `/spaces/${ann.space}/audit?actor=${'a'.repeat(10_000)}`),
      await as(ann.session, 'POST', '/tokens', { name: 'many', spaces: Array(50_000).fill(ann.space) }),
      await sendOversize(
        ann.session,
        '/tokens',
        JSON.stringify({ name: 'too many', spaces: Array(300_000).fill(ann.space) }),
      ),
      await as(
        ann.session,
        'POST',
        '/tokens',
        `{"name":"deep","spaces":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
      ),
      await as(ann.session, 'GET', `/spaces/${'a'.repeat(5000)}`),
      await as(ann.session, 'GET', `/spaces/${ann.space}/audit?action=${'a'.repeat(30_000)}`),
    ];
    expect(replies.map((r) => [r.status, r.body.error?.code])).toEqual([
      [400, 'VALIDATION_FAILED'],
      [400, 'VALIDATION_FAILED'],
      [413, 'PAYLOAD_TOO_LARGE'],
      [400, 'VALIDATION_FAILED'],
      [414, 'URI_TOO_LONG'],
      [414, 'URI_TOO_LONG'],
    ]);
  });

  it('formats an URL that is not validly percent-encoded (was Fastify’s own format)', async () => {
    expectError(await as(ann.session, 'GET', '/spaces/%ZZ'), 400, 'VALIDATION_FAILED');
  });

  it('kept every service running, and reads and writes still work', async () => {
    for (const p of platform.processes)
      expect({ name: p.name, exitCode: p.child.exitCode }).toEqual({ name: p.name, exitCode: null });
    await platform.login(ann.email, ann.password);
    const app = expectStatus(
      await platform.call<{ versions: { version: number; spec: { env: Record<string, string> } }[] }>(
        ann.session,
        'GET',
        `/spaces/${ann.space}/apps/web`,
      ),
      200,
      'the app',
    );
    expect(app.versions.map((v) => [v.version, v.spec.env])).toEqual([
      [1, ann.spec.env],
      [2, ann.spec.env],
    ]);
  });
});
