import { type NatsConnection } from '@nats-io/transport-node';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  type AppView,
  Authorize,
  CreateApp,
  type InstanceView,
  ListInstances,
  PierError,
  type Principal,
  type RpcRequest,
  SetStickySessions,
  type SpaceRole,
  subjectsFor,
} from '@pier/contracts';
import { RpcServer } from '@pier/messaging';
import { listen } from '@pier/nest';
import { createLogger } from '@pier/observability';
import { connectTestNats, deleteStreams, httpJson, uniqueName } from '@pier/testing';
import { createGatewayApp, gatewayConfigSchema } from '../src';

type ErrorReply = { error: { code: string; message: string; details?: Record<string, unknown> } };

const USER = '11111111-1111-4111-8111-111111111111';
const CLUSTER = '22222222-2222-4222-8222-222222222222';

/** The credential names the caller's role in the `acme` space. */
const asRole = (role: SpaceRole) => ({ authorization: `Bearer ${role}` });

const view = (space: string, name: string, stickySessions: boolean): AppView => ({
  space,
  name,
  clusterId: CLUSTER,
  state: 'active',
  domains: [`${name}.${space}.pier.localhost`],
  versions: [],
  desiredInstances: 0,
  readyInstances: 0,
  health: 100,
  stickySessions,
  createdAt: '2026-01-01T00:00:00.000Z',
});

/** An instance as the scheduler lists it, with the given last probe result. */
const instance = (id: string, lastProbe: InstanceView['lastProbe']): InstanceView => ({
  id,
  version: 1,
  nodeId: null,
  state: 'ready',
  host: '127.0.0.1',
  hostPorts: [{ containerPort: 8080, protocol: 'http', hostPort: 40000 }],
  restarts: 0,
  startedAt: '2026-01-01T00:00:00.000Z',
  reason: null,
  code: null,
  lastProbe,
  updatedAt: '2026-01-01T00:00:01.000Z',
});

/**
 * The app routes of the gateway against real NATS, with the auth and scheduler services stubbed on
 * their RPC subjects: what the gateway accepts, who may call it, and what it forwards.
 */
describe('gateway app routes (real NATS, stubbed services)', () => {
  const prefix = uniqueName('gateway-apps');
  let app: NestFastifyApplication;
  let base: string;
  let nc: NatsConnection;
  let stubs: RpcServer;
  const createCalls: RpcRequest<typeof CreateApp>[] = [];
  const stickyCalls: RpcRequest<typeof SetStickySessions>[] = [];
  const instances = [
    instance('33333333-3333-4333-8333-333333333333', {
      kind: 'readiness',
      ok: true,
      detail: 'GET http://127.0.0.1:40000/healthz: HTTP 200',
      at: '2026-01-01T00:00:01.000Z',
    }),
    instance('44444444-4444-4444-8444-444444444444', null),
  ];

  beforeAll(async () => {
    nc = await connectTestNats();
    stubs = new RpcServer(nc, subjectsFor(prefix), 'stubs', createLogger('stubs', 'silent'));
    const principal: Principal = {
      userId: USER,
      email: 'u@example.com',
      displayName: 'U',
      platformRole: 'user',
      via: 'session',
      sessionId: USER,
      tokenId: null,
      tokenSpaces: null,
    };
    stubs.handle(Authorize, async (req) => ({
      principal,
      space: req.space ? { name: req.space, exists: true, role: req.credential as SpaceRole } : null,
    }));
    stubs.handle(CreateApp, async (req) => {
      createCalls.push(req);
      return view(req.space, req.app, req.stickySessions);
    });
    stubs.handle(SetStickySessions, async (req) => {
      stickyCalls.push(req);
      if (req.app === 'missing')
        throw new PierError('APP_NOT_FOUND', `app ${req.app} does not exist in ${req.space}`);
      return view(req.space, req.app, req.enabled);
    });
    stubs.handle(ListInstances, async () => ({ items: instances }));
    const config = gatewayConfigSchema.parse({ PIER_PREFIX: prefix, PIER_RPC_TIMEOUT_MS: '2000' });
    app = await createGatewayApp(config, createLogger('gateway', 'silent'));
    base = `http://127.0.0.1:${await listen(app, 0)}/api/v1`;
  });

  afterAll(async () => {
    await app?.close();
    await stubs?.close();
    await deleteStreams(nc, prefix);
    await nc.close();
  });

  beforeEach(() => {
    createCalls.length = 0;
    stickyCalls.length = 0;
  });

  it('turns sticky sessions on and off with PATCH and answers the app view', async () => {
    const on = await httpJson<AppView>(
      'PATCH',
      `${base}/spaces/acme/apps/web`,
      { stickySessions: true },
      asRole('developer'),
    );
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ space: 'acme', name: 'web', stickySessions: true });
    const off = await httpJson<AppView>(
      'PATCH',
      `${base}/spaces/acme/apps/web`,
      { stickySessions: false },
      asRole('owner'),
    );
    expect(off.body.stickySessions).toBe(false);
    expect(stickyCalls).toEqual([
      { space: 'acme', app: 'web', enabled: true },
      { space: 'acme', app: 'web', enabled: false },
    ]);
  });

  it.each([
    ['an unknown field', { stickySessions: true, replicas: 3 }],
    ['a missing setting', {}],
    ['a setting that is not a boolean', { stickySessions: 'yes' }],
  ])('refuses %s in the PATCH body with 400 VALIDATION_FAILED', async (_what, body) => {
    const reply = await httpJson<ErrorReply>(
      'PATCH',
      `${base}/spaces/acme/apps/web`,
      body,
      asRole('developer'),
    );
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('VALIDATION_FAILED');
    expect(stickyCalls).toEqual([]);
  });

  it('lets only roles that may change the space PATCH an app', async () => {
    const reply = await httpJson<ErrorReply>(
      'PATCH',
      `${base}/spaces/acme/apps/web`,
      { stickySessions: true },
      asRole('auditor'),
    );
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('FORBIDDEN');
    expect(stickyCalls).toEqual([]);
  });

  it('answers the scheduler’s APP_NOT_FOUND as 404', async () => {
    const reply = await httpJson<ErrorReply>(
      'PATCH',
      `${base}/spaces/acme/apps/missing`,
      { stickySessions: true },
      asRole('developer'),
    );
    expect(reply.status).toBe(404);
    expect(reply.body.error.code).toBe('APP_NOT_FOUND');
  });

  it('creates an app with sticky sessions when asked, and without them by default', async () => {
    const sticky = await httpJson<AppView>(
      'POST',
      `${base}/spaces/acme/apps`,
      { name: 'shop', cluster: 'main', stickySessions: true },
      asRole('developer'),
    );
    expect(sticky.status).toBe(201);
    expect(sticky.body.stickySessions).toBe(true);
    const plain = await httpJson<AppView>(
      'POST',
      `${base}/spaces/acme/apps`,
      { name: 'blog', cluster: 'main' },
      asRole('developer'),
    );
    expect(plain.body.stickySessions).toBe(false);
    expect(createCalls).toEqual([
      { space: 'acme', app: 'shop', cluster: 'main', stickySessions: true },
      { space: 'acme', app: 'blog', cluster: 'main', stickySessions: false },
    ]);
    const bad = await httpJson<ErrorReply>(
      'POST',
      `${base}/spaces/acme/apps`,
      { name: 'x', cluster: 'main', stickySessions: 1 },
      asRole('developer'),
    );
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('lists instances with the last probe result of each, as the scheduler gives it, and documents it', async () => {
    const reply = await httpJson<{ items: InstanceView[] }>(
      'GET',
      `${base}/spaces/acme/apps/web/instances`,
      undefined,
      asRole('auditor'),
    );
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ items: instances });
    const { body } = await httpJson<{
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }>('GET', `${base}/openapi.json`);
    const listed = body.paths['/api/v1/spaces/{space}/apps/{app}/instances']!.get!.responses['200'] as {
      content: { 'application/json': { schema: { properties: { items: { items: unknown } } } } };
    };
    const item = listed.content['application/json'].schema.properties.items.items as {
      properties: Record<string, unknown>;
      required: string[];
    };
    expect(item.required).toContain('lastProbe');
    expect(item.properties.lastProbe).toMatchObject({
      anyOf: [
        {
          type: 'object',
          properties: {
            kind: { enum: ['startup', 'readiness', 'liveness'] },
            ok: { type: 'boolean' },
            detail: { type: 'string' },
            at: { type: 'string' },
          },
          required: ['kind', 'ok', 'detail', 'at'],
        },
        { type: 'null' },
      ],
    });
  });

  it('documents the PATCH route with its access, strict body and errors', async () => {
    const { body } = await httpJson<{
      paths: Record<string, Record<string, Record<string, unknown>>>;
    }>('GET', `${base}/openapi.json`);
    const patch = body.paths['/api/v1/spaces/{space}/apps/{app}']!.patch!;
    expect(patch).toMatchObject({
      operationId: 'updateApp',
      'x-pier-access': { kind: 'space', permission: 'write' },
      requestBody: {
        content: {
          'application/json': {
            schema: {
              type: 'object',
              properties: { stickySessions: { type: 'boolean' } },
              required: ['stickySessions'],
              additionalProperties: false,
            },
          },
        },
      },
    });
    expect(Object.keys(patch.responses as object).sort()).toEqual([
      '200',
      '400',
      '404',
      '409',
      '500',
      '503',
      '504',
    ]);
  });
});
