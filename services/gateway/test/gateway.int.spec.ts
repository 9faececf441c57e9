import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { listen } from '@pier/nest';
import { createLogger } from '@pier/observability';
import { httpJson, uniqueName } from '@pier/testing';
import { createGatewayApp, gatewayConfigSchema } from '../src';

type ErrorReply = { error: { code: string; message: string; details?: Record<string, unknown> } };

/** The gateway on its own, against real NATS with no service behind it. */
describe('gateway (real NATS, no services)', () => {
  let app: NestFastifyApplication;
  let base: string;

  beforeAll(async () => {
    const config = gatewayConfigSchema.parse({
      PIER_PREFIX: uniqueName('gateway'),
      PIER_RPC_TIMEOUT_MS: '1000',
      PIER_API_BODY_LIMIT_BYTES: '4096',
    });
    app = await createGatewayApp(config, createLogger('gateway', 'silent'));
    const port = await listen(app, 0);
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(() => app.close());

  it('serves an OpenAPI 3.1 document describing every route with its errors', async () => {
    const { status, body } = await httpJson<{
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown>; operationId: string }>>;
    }>('GET', `${base}/api/v1/openapi.json`);
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/clusters',
        '/api/v1/clusters/{clusterId}',
        '/api/v1/clusters/{clusterId}/join-tokens',
        '/api/v1/clusters/{clusterId}/join-tokens/{tokenId}',
        '/api/v1/clusters/{clusterId}/nodes',
        '/api/v1/nodes',
        '/api/v1/nodes/{nodeId}',
        '/api/v1/nodes/{nodeId}/labels',
        '/api/v1/nodes/{nodeId}/cordon',
        '/api/v1/nodes/{nodeId}/uncordon',
        '/api/v1/nodes/{nodeId}/drain',
      ]),
    );
    expect(body.paths['/api/v1/clusters']!.post!.responses).toHaveProperty('409');
    expect(body.paths['/api/v1/nodes/{nodeId}']!.get!.responses).toHaveProperty('404');
    const ids = Object.values(body.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.each([
    ['a request without credentials', 'POST', '/api/v1/clusters', { name: 'ok' }, 401, 'UNAUTHENTICATED'],
    ['malformed JSON on a public route', 'POST', '/api/v1/auth/login', '{"email": ', 400, 'MALFORMED_JSON'],
    [
      'a body that fails its schema on a public route',
      'POST',
      '/api/v1/auth/login',
      { email: 'a@b.c' },
      400,
      'VALIDATION_FAILED',
    ],
    [
      'a body over the limit',
      'POST',
      '/api/v1/auth/login',
      { email: 'a@b.c', password: 'x'.repeat(5000) },
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    ['an unknown route', 'GET', '/api/v1/nothing-here', undefined, 404, 'ROUTE_NOT_FOUND'],
  ])('answers %s', async (_what, method, path, body, status, code) => {
    const reply = await httpJson<ErrorReply>(method, `${base}${path}`, body);
    expect(reply.status).toBe(status);
    expect(reply.body.error.code).toBe(code);
    expect(typeof reply.body.error.message).toBe('string');
  });

  it('rejects a body that is not JSON with 415', async () => {
    const response = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'name=x',
    });
    expect(response.status).toBe(415);
    expect(((await response.json()) as ErrorReply).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('reports a missing auth service as 503 SERVICE_UNAVAILABLE, not a crash', async () => {
    const reply = await httpJson<ErrorReply>('GET', `${base}/api/v1/clusters`, undefined, {
      authorization: 'Bearer x.y.z',
    });
    expect(reply.status).toBe(503);
    expect(reply.body.error.code).toBe('SERVICE_UNAVAILABLE');
  });

  it('echoes a well-formed X-Request-Id and makes one up otherwise', async () => {
    const given = await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'req-123' } });
    expect(given.headers.get('x-request-id')).toBe('req-123');
    const made = await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves health, readiness and Prometheus metrics outside /api/v1', async () => {
    expect((await httpJson('GET', `${base}/healthz`)).status).toBe(200);
    expect(await httpJson('GET', `${base}/readyz`)).toMatchObject({
      status: 200,
      body: { checks: { nats: 'ok' } },
    });
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toContain('process_cpu_user_seconds_total{service="gateway"}');
    expect(text).toMatch(
      /pier_http_requests_total\{method="GET",route="\/healthz",status="200",service="gateway"\} [1-9]/,
    );
    expect(text).toMatch(
      /pier_http_requests_total\{method="GET",route="\/api\/v1\/clusters",status="503",service="gateway"\} [1-9]/,
    );
  });
});
