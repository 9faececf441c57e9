import { connect } from 'node:net';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { PierError } from '@pier/contracts';
import { listen } from '@pier/nest';
import { createLogger } from '@pier/observability';
import { httpJson, uniqueName } from '@pier/testing';
import { createGatewayApp, gatewayConfigSchema } from '../src';

type ErrorReply = { error: { code: string; message: string; details?: Record<string, unknown> } };

/**
 * Sends `request` as written on a socket of its own (left open: the server ends it, as each request
 * says `Connection: close`); resolves with the status and the parsed body.
 */
function raw(port: number, request: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const content = rest.join('\r\n\r\n');
      let body: unknown = content;
      try {
        body = JSON.parse(content);
      } catch {
        // not JSON: kept as text, and the test says so
      }
      resolve({ status: Number(head.split(' ')[1]), body });
    });
  });
}

/**
 * Hostile requests against the gateway on its own (real NATS, no service behind it): everything here is
 * refused before authentication or any call to a service, in the API's error format.
 */
describe('gateway: hostile input is a 4xx in the house format', () => {
  let app: NestFastifyApplication;
  let port: number;
  let base: string;

  beforeAll(async () => {
    const config = gatewayConfigSchema.parse({
      PIER_PREFIX: uniqueName('hostile'),
      PIER_RPC_TIMEOUT_MS: '1000',
      PIER_API_BODY_LIMIT_BYTES: '65536',
    });
    app = await createGatewayApp(config, createLogger('gateway', 'silent'));
    // An onRequest hook that fails, as a rate limit before routing would.
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onRequest', async (request) => {
        if (request.headers['x-test-refuse'])
          throw new PierError('RATE_LIMITED', 'refused early', { retryAfterSeconds: 7 });
      });
    port = await listen(app, 0);
    base = `http://127.0.0.1:${port}/api/v1`;
  });

  afterAll(() => app.close());

  const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    httpJson<ErrorReply>(method, `${base}${path}`, body, headers);
  const expectError = (reply: { status: number; body: unknown }, status: number, code: string) => {
    expect({ status: reply.status, code: (reply.body as ErrorReply).error?.code }).toEqual({ status, code });
  };

  describe('NUL and unpaired surrogates, anywhere, before anything runs', () => {
    it.each([
      ['a NUL in a login email', 'POST', '/auth/login', '{"email":"a\\u0000@b.c","password":"x"}', 'email'],
      [
        'a lone surrogate in a login email',
        'POST',
        '/auth/login',
        '{"email":"\\ud800","password":"x"}',
        'email',
      ],
      ['a lone low surrogate as a key', 'POST', '/spaces/a/secrets', '{"\\udc00":1}', '"\\udc00"'],
      [
        'a NUL in an env key of a version',
        'POST',
        '/spaces/a/apps/b/versions',
        '{"image":"busybox","env":{"A\\u0000":"1"}}',
        'env."A\\u0000"',
      ],
      ['a NUL in a token name', 'POST', '/tokens', '{"name":"x\\u0000"}', 'name'],
    ])('refuses %s, naming where', async (_what, method, path, body, where) => {
      const reply = await send(method, path, body);
      expectError(reply, 400, 'VALIDATION_FAILED');
      expect(reply.body.error.details).toMatchObject({ in: 'body', path: where });
    });

    it.each([
      ['a path parameter', '/spaces/a%00b/apps', 'path', 'space'],
      ['an audit filter', '/audit?actor=x%00', 'query', 'actor'],
    ])('refuses a NUL in %s', async (_what, path, part, where) => {
      const reply = await send('GET', path);
      expectError(reply, 400, 'VALIDATION_FAILED');
      expect(reply.body.error.details).toMatchObject({ in: part, path: where });
    });

    it('refuses JSON nested deeper than 32 levels, however deep, even where any JSON is welcome', async () => {
      // `security` takes any JSON value: only the screen stands between it and the event store
      for (const depth of [32, 20_000]) {
        const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
        const body = `{"image":"busybox","security":{"a":${nested}}}`;
        const reply = await send('POST', '/spaces/a/apps/b/versions', body);
        expectError(reply, 400, 'VALIDATION_FAILED');
        expect(reply.body.error.details).toMatchObject({ in: 'body', problem: 'nested too deeply' });
      }
      const shallow = `{"image":"busybox","security":{"a":${'['.repeat(29)}${']'.repeat(29)}}}`;
      expectError(await send('POST', '/spaces/a/apps/b/versions', shallow), 401, 'UNAUTHENTICATED');
    });
  });

  describe('bodies: JSON only, and none where a route declares none', () => {
    it.each([
      ['form-urlencoded', 'application/x-www-form-urlencoded', 'email=a%40b.c&password=x'],
      [
        'multipart',
        'multipart/form-data; boundary=x',
        '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--',
      ],
      ['text', 'text/plain', '{"email":"a@b.c","password":"x"}'],
      ['a JSON-like vendor type', 'application/vnd.api+json', '{}'],
      ['JSON in another charset', 'application/json; charset=utf-16', '{"email":"a@b.c","password":"x"}'],
    ])('answers 415 to a %s body', async (_what, contentType, body) => {
      const response = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body,
      });
      expectError({ status: response.status, body: await response.json() }, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('answers 415 to a body without a content type, and to a GET with a text body', async () => {
      const post = `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}`;
      expectError(await raw(port, post), 415, 'UNSUPPORTED_MEDIA_TYPE');
      const get = `GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc`;
      expectError(await raw(port, get), 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('refuses a body on a route that takes none (stop), but takes none or {}', async () => {
      const stop = '/spaces/a/apps/b/versions/1/stop';
      expectError(await send('POST', stop, { instances: 3 }), 400, 'VALIDATION_FAILED');
      expectError(await send('POST', stop, []), 400, 'VALIDATION_FAILED');
      expectError(await send('POST', stop, 'null'), 400, 'VALIDATION_FAILED');
      // no body or {}: on to authentication
      expectError(await send('POST', stop), 401, 'UNAUTHENTICATED');
      expectError(await send('POST', stop, {}), 401, 'UNAUTHENTICATED');
    });

    it('says MALFORMED_JSON for an empty body sent as JSON', async () => {
      expectError(await send('POST', '/auth/login', ''), 400, 'MALFORMED_JSON');
    });
  });

  describe('queries name only declared parameters', () => {
    it('refuses an unknown parameter, on a route with a query and on one without', async () => {
      const listed = await send('GET', '/spaces?limt=5');
      expectError(listed, 400, 'VALIDATION_FAILED');
      expect(listed.body.error.details).toMatchObject({ in: 'query', unknown: ['limt'] });
      expectError(await send('GET', '/openapi.json?x=1'), 400, 'VALIDATION_FAILED');
      expect((await fetch(`${base}/openapi.json?x=1`, { method: 'HEAD' })).status).toBe(400);
      expect((await send('GET', '/openapi.json')).status).toBe(200);
    });
  });

  describe('errors Fastify and Node answer before any route', () => {
    it('takes a 253-character host as a path parameter (was 414 past 100 characters)', async () => {
      const host = `${'a'.repeat(61)}.${'b'.repeat(61)}.${'c'.repeat(61)}.${'d'.repeat(61)}.example`.slice(
        0,
        253,
      );
      expectError(await send('DELETE', `/spaces/a/apps/b/domains/${host}`), 401, 'UNAUTHENTICATED');
    });

    it.each([
      [
        'a parameter over the router limit',
        `GET /api/v1/spaces/${'a'.repeat(2000)} HTTP/1.1`,
        414,
        'URI_TOO_LONG',
      ],
      [
        'a URL over the header limit',
        `GET /api/v1/spaces?x=${'a'.repeat(20_000)} HTTP/1.1`,
        414,
        'URI_TOO_LONG',
      ],
      ['bad percent-encoding', 'GET /api/v1/spaces/%ZZ HTTP/1.1', 400, 'VALIDATION_FAILED'],
      ['an unknown method', 'BREW /api/v1/spaces HTTP/1.1', 400, 'VALIDATION_FAILED'],
      ['a garbage request line', 'hello', 400, 'VALIDATION_FAILED'],
    ])('formats %s', async (_what, line, status, code) => {
      expectError(await raw(port, `${line}\r\nHost: x\r\nConnection: close\r\n\r\n`), status, code);
    });

    it.each([
      ['headers over the limit', `X-Big: ${'a'.repeat(20_000)}\r\n`, 400, 'VALIDATION_FAILED'],
      [
        'a Content-Length that is not a number',
        'Content-Type: application/json\r\nContent-Length: abc\r\n',
        400,
        'VALIDATION_FAILED',
      ],
      [
        'two different Content-Lengths',
        'Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n',
        400,
        'VALIDATION_FAILED',
      ],
      [
        'a Content-Length over the body limit',
        'Content-Type: application/json\r\nContent-Length: 99999999999\r\n',
        413,
        'PAYLOAD_TOO_LARGE',
      ],
    ])('formats %s', async (_what, headers, status, code) => {
      const request = `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n{}`;
      expectError(await raw(port, request), status, code);
    });

    it('formats what an onRequest hook throws, and Fastify’s own 404', async () => {
      const refused = await send('GET', '/openapi.json', undefined, { 'x-test-refuse': '1' });
      expectError(refused, 429, 'RATE_LIMITED');
      expect(refused.headers.get('retry-after')).toBe('7');
      expectError(await send('GET', '/nothing/here'), 404, 'ROUTE_NOT_FOUND');
    });
  });
});
