import { randomBytes, randomUUID } from 'node:crypto';
import { type NatsConnection } from '@nats-io/transport-node';
import {
  INSTANCE,
  JoinNode,
  NODE_ASSIGNMENT,
  type PierEvent,
  pierEvents,
  subjectsFor,
} from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { RpcClient } from '@pier/messaging';
import { connectTestNats, deleteStreams, expectEventually } from '@pier/testing';
import { type Platform, startPlatform } from './platform';

type ErrorReply = { error: { code: string; message: string; details?: Record<string, unknown> } };
type Instance = { id: string; version: number; nodeId: string | null; state: string; reason: string | null };
type App = {
  desiredInstances: number;
  versions: { version: number; weight: number; desiredInstances: number }[];
  domains: string[];
};

/**
 * Scheduling against real services, with nodes that join and heartbeat over NATS like agents do but run
 * nothing: what is checked here is where instances are placed, not how they run.
 */
describe('apps, versions and scheduling (no containers)', () => {
  let platform: Platform;
  let admin: string;
  let nc: NatsConnection;
  let store: EventStore<PierEvent>;
  const beats: NodeJS.Timeout[] = [];
  const base = '/spaces/acme/apps';

  async function joinNode(
    clusterId: string,
    name: string,
    capacity: { cpuMillicores: number; memoryMiB: number },
    labels: Record<string, string> = {},
  ) {
    const token = (
      await platform.call<{ token: string }>(admin, 'POST', `/clusters/${clusterId}/join-tokens`, {})
    ).body.token;
    const node = { nodeId: randomUUID(), credential: randomBytes(32).toString('base64url') };
    const rpc = new RpcClient(nc, subjectsFor(platform.prefix));
    await rpc.call(
      JoinNode,
      {
        token,
        ...node,
        name,
        labels,
        hostname: name,
        capacity,
        engine: { driver: 'none', version: '0', os: 'test', arch: 'x', kernel: 'x' },
        agentVersion: 't',
      },
      { actor: { kind: 'node', id: node.nodeId }, correlationId: name },
    );
    let seq = 0;
    const beat = () =>
      nc.publish(
        subjectsFor(platform.prefix).heartbeat(clusterId, node.nodeId),
        JSON.stringify({ nodeId: node.nodeId, clusterId, seq: seq++, sentAt: new Date().toISOString() }),
      );
    beat();
    beats.push(setInterval(beat, 500));
    return node.nodeId;
  }

  const instances = async (app: string) =>
    (await platform.call<{ items: Instance[] }>(admin, 'GET', `${base}/${app}/instances`)).body.items;

  beforeAll(async () => {
    platform = await startPlatform('sched');
    admin = await platform.login(platform.admin.email, platform.admin.password);
    nc = await connectTestNats();
    store = await EventStore.open(nc, subjectsFor(platform.prefix), pierEvents);
    expect((await platform.call(admin, 'POST', '/spaces', { name: 'acme' })).status).toBe(201);
    const cluster = await platform.call<{ id: string }>(admin, 'POST', '/clusters', { name: 'main' });
    const small = { cpuMillicores: 2000, memoryMiB: 1024 };
    await joinNode(cluster.body.id, 'n1', small, { disk: 'ssd' });
    await joinNode(cluster.body.id, 'n2', small);
  });

  afterAll(async () => {
    for (const b of beats) clearInterval(b);
    await platform?.stop();
    await deleteStreams(nc, platform.prefix);
    await nc.close();
  });

  it('deploys a version: instances are spread over the nodes and assigned to them', async () => {
    expect((await platform.call(admin, 'POST', base, { name: 'web', cluster: 'main' })).status).toBe(201);
    const v1 = await platform.call<{ version: number }>(admin, 'POST', `${base}/web/versions`, {
      image: 'pier/busybox:latest',
      ports: [{ containerPort: 8080 }],
      resources: { cpu: 500, memory: 256 },
    });
    expect(v1).toMatchObject({ status: 201, body: { version: 1 } });
    const deployed = await platform.call<App>(admin, 'POST', `${base}/web/versions/1/deploy`, {
      instances: 2,
    });
    expect(deployed.status).toBe(202);
    expect(deployed.body.versions[0]).toMatchObject({ desiredInstances: 2, weight: 100 });
    expect(deployed.body.domains).toEqual(['web.acme.pier.localhost']);
    await expectEventually(async () => {
      const list = await instances('web');
      expect(list).toHaveLength(2);
      expect(list.every((i) => i.state === 'starting' && i.nodeId)).toBe(true);
      expect(new Set(list.map((i) => i.nodeId)).size).toBe(2);
    });
    for (const i of await instances('web')) {
      const { events } = await store.load(NODE_ASSIGNMENT, i.nodeId!);
      // One InstancesAssigned per node and plan (ADR 0008); streams written before hold InstanceAssigned.
      const assigned = events.flatMap(({ event }) =>
        event.type === 'InstancesAssigned'
          ? event.data.assignments.map((a) => a.instanceId)
          : event.type === 'InstanceAssigned'
            ? [event.data.instanceId]
            : [],
      );
      expect(assigned).toContain(i.id);
    }
  });

  it('explains why an instance fits nowhere, and places it when capacity appears', async () => {
    await platform.call(admin, 'POST', base, { name: 'big', cluster: 'main' });
    await platform.call(admin, 'POST', `${base}/big/versions`, {
      image: 'pier/busybox:latest',
      resources: { cpu: 100, memory: 4096 },
    });
    await platform.call(admin, 'POST', `${base}/big/versions/1/deploy`, { instances: 1 });
    await expectEventually(async () => {
      const [i] = await instances('big');
      expect(i).toMatchObject({ state: 'unschedulable', reason: '0/2 nodes: 2 insufficient memory' });
    });
    const cluster = (
      await platform.call<{ items: { id: string; name: string }[] }>(admin, 'GET', '/clusters')
    ).body.items.find((c) => c.name === 'main')!;
    const roomy = await joinNode(cluster.id, 'n3', { cpuMillicores: 4000, memoryMiB: 8192 });
    await expectEventually(async () =>
      expect((await instances('big'))[0]).toMatchObject({ state: 'starting', nodeId: roomy }),
    );
  });

  it('honours placement constraints', async () => {
    await platform.call(admin, 'POST', base, { name: 'fast', cluster: 'main' });
    await platform.call(admin, 'POST', `${base}/fast/versions`, {
      image: 'pier/busybox:latest',
      resources: { cpu: 100, memory: 64 },
      placement: { constraints: ['disk==ssd'] },
    });
    await platform.call(admin, 'POST', `${base}/fast/versions/1/deploy`, { instances: 2 });
    const nodes = (await platform.call<{ items: { id: string; name: string }[] }>(admin, 'GET', '/nodes'))
      .body.items;
    const ssd = nodes.find((n) => n.name === 'n1')!.id;
    await expectEventually(async () => {
      const list = await instances('fast');
      expect(list.map((i) => i.nodeId)).toEqual([ssd, ssd]);
    });
  });

  it('scales, and stops a version: its traffic moves to the one still running', async () => {
    await platform.call(admin, 'POST', `${base}/web/versions/1/scale`, { instances: 3 });
    await expectEventually(async () =>
      expect((await instances('web')).filter((i) => i.version === 1)).toHaveLength(3),
    );
    await platform.call(admin, 'POST', `${base}/web/versions`, {
      image: 'pier/busybox:latest',
      label: '2.0',
      resources: { cpu: 100, memory: 64 },
    });
    const gray = await platform.call<App>(admin, 'POST', `${base}/web/versions/2/deploy`, { instances: 1 });
    expect(gray.body.versions.map((v) => [v.version, v.weight])).toEqual([
      [1, 100],
      [2, 0],
    ]);
    const split = await platform.call<App>(admin, 'PUT', `${base}/web/traffic`, {
      weights: { '1': 80, '2': 20 },
    });
    expect(split.body.versions.map((v) => [v.version, v.weight])).toEqual([
      [1, 80],
      [2, 20],
    ]);
    const stopped = await platform.call<App>(admin, 'POST', `${base}/web/versions/1/stop`);
    expect(stopped.body.versions.map((v) => [v.version, v.weight])).toEqual([
      [1, 0],
      [2, 100],
    ]);
    await expectEventually(async () =>
      expect(
        (await instances('web')).filter((i) => i.version === 1).every((i) => i.state === 'stopping'),
      ).toBe(true),
    );
    const busy = await platform.call<ErrorReply>(admin, 'DELETE', `${base}/web/versions/1`);
    expect(busy).toMatchObject({ status: 409, body: { error: { code: 'VERSION_HAS_INSTANCES' } } });
    // Nothing runs these instances: what an agent reports when they end is simulated here.
    for (const i of (await instances('web')).filter((x) => x.version === 1)) {
      await store.append(INSTANCE, i.id, [stoppedEvent(i.id)], 'any');
    }
    await expectEventually(async () =>
      expect((await platform.call(admin, 'DELETE', `${base}/web/versions/1`)).status).toBe(200),
    );
  });

  it('enforces quotas with the quota named', async () => {
    await platform.call(admin, 'PUT', '/spaces/acme/quota', {
      maxApps: null,
      maxInstances: 10,
      maxCpuMillicores: null,
      maxMemoryMiB: null,
    });
    const over = await platform.call<ErrorReply>(admin, 'POST', `${base}/fast/versions/1/scale`, {
      instances: 20,
    });
    expect(over).toMatchObject({
      status: 422,
      body: { error: { code: 'QUOTA_EXCEEDED', details: { quota: 'maxInstances', limit: 10 } } },
    });
    await platform.call(admin, 'PUT', '/spaces/acme/quota', {
      maxApps: 3,
      maxInstances: null,
      maxCpuMillicores: null,
      maxMemoryMiB: null,
    });
    const fifth = await platform.call<ErrorReply>(admin, 'POST', base, { name: 'fifth', cluster: 'main' });
    expect(fifth).toMatchObject({
      status: 422,
      body: { error: { code: 'QUOTA_EXCEEDED', details: { quota: 'maxApps' } } },
    });
    await platform.call(admin, 'PUT', '/spaces/acme/quota', {
      maxApps: null,
      maxInstances: null,
      maxCpuMillicores: null,
      maxMemoryMiB: null,
    });
  });

  it('answers bad input with 4xx and a code', async () => {
    const cases: [string, string, unknown, number, string][] = [
      ['POST', `${base}/web/versions`, { image: 'Not A Valid/Image::ref' }, 400, 'VALIDATION_FAILED'],
      [
        'POST',
        `${base}/web/versions`,
        { image: 'pier/busybox:latest', secretEnv: { DB: { secret: 'nope', key: 'password' } } },
        404,
        'SECRET_NOT_FOUND',
      ],
      [
        'POST',
        `${base}/web/versions`,
        { image: 'pier/busybox:latest', security: { privileged: true } },
        201,
        '',
      ],
      ['POST', `${base}/web/versions/2/scale`, { instances: -1 }, 400, 'VALIDATION_FAILED'],
      ['PUT', `${base}/web/traffic`, { weights: { '2': 60, '3': 30 } }, 400, 'VALIDATION_FAILED'],
      ['PUT', `${base}/web/traffic`, { weights: { '2': 50.001, '3': 49.999 } }, 400, 'VALIDATION_FAILED'],
      ['POST', `${base}/web/versions/99/deploy`, { instances: 1 }, 404, 'VERSION_NOT_FOUND'],
      ['GET', `${base}/nope`, undefined, 404, 'APP_NOT_FOUND'],
      ['POST', base, { name: 'web', cluster: 'main' }, 409, 'APP_NAME_TAKEN'],
      ['POST', base, { name: 'other', cluster: 'no-such-cluster' }, 404, 'CLUSTER_NOT_FOUND'],
      [
        'POST',
        `${base}/web/versions`,
        { image: 'pier/busybox:latest', probes: { readiness: { http: { path: '/', port: 9999 } } } },
        400,
        'VALIDATION_FAILED',
      ],
    ];
    for (const [method, path, body, status, code] of cases) {
      const reply = await platform.call<ErrorReply>(admin, method, path, body);
      expect([method, path, reply.status]).toEqual([method, path, status]);
      if (code) expect(reply.body.error.code).toBe(code);
    }
    // A platform admin may ask for privileged mode; a space member may not.
    const member = await platform.call<{ id: string }>(admin, 'POST', '/users', {
      email: 'dev@example.com',
      displayName: 'Dev',
      password: 'a long and ordinary passphrase',
    });
    await platform.call(admin, 'PUT', `/spaces/acme/members/${member.body.id}`, { role: 'developer' });
    const dev = await platform.login('dev@example.com', 'a long and ordinary passphrase');
    const privileged = await platform.call<ErrorReply>(dev, 'POST', `${base}/web/versions`, {
      image: 'pier/busybox:latest',
      security: { privileged: true },
    });
    expect(privileged).toMatchObject({ status: 422, body: { error: { code: 'POLICY_PRIVILEGED' } } });
  });

  it('changes the sticky sessions of an app with PATCH: strict body, write access, documented', async () => {
    const on = await platform.call<App & { stickySessions: boolean }>(admin, 'PATCH', `${base}/web`, {
      stickySessions: true,
    });
    expect(on).toMatchObject({ status: 200, body: { stickySessions: true } });
    expect(
      (await platform.call<{ stickySessions: boolean }>(admin, 'GET', `${base}/web`)).body.stickySessions,
    ).toBe(true);
    for (const body of [{ stickySessions: true, replicas: 3 }, {}, { stickySessions: 'yes' }]) {
      const reply = await platform.call<ErrorReply>(admin, 'PATCH', `${base}/web`, body);
      expect([JSON.stringify(body), reply.status, reply.body.error.code]).toEqual([
        JSON.stringify(body),
        400,
        'VALIDATION_FAILED',
      ]);
    }
    const missing = await platform.call<ErrorReply>(admin, 'PATCH', `${base}/nope`, { stickySessions: true });
    expect([missing.status, missing.body.error.code]).toEqual([404, 'APP_NOT_FOUND']);
    const created = await platform.call<{ stickySessions: boolean }>(admin, 'POST', base, {
      name: 'shop',
      cluster: 'main',
      stickySessions: true,
    });
    expect(created).toMatchObject({ status: 201, body: { stickySessions: true } });

    // An auditor reads the setting but may not change it.
    const auditor = await platform.call<{ id: string }>(admin, 'POST', '/users', {
      email: 'auditor@example.com',
      displayName: 'Auditor',
      password: 'a long and ordinary passphrase',
    });
    await platform.call(admin, 'PUT', `/spaces/acme/members/${auditor.body.id}`, { role: 'auditor' });
    const audit = await platform.login('auditor@example.com', 'a long and ordinary passphrase');
    expect((await platform.call(audit, 'GET', `${base}/web`)).status).toBe(200);
    const refused = await platform.call<ErrorReply>(audit, 'PATCH', `${base}/web`, { stickySessions: false });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'FORBIDDEN']);

    const openapi = await fetch(`${platform.api}/openapi.json`);
    const doc = (await openapi.json()) as {
      paths: Record<string, Record<string, { operationId: string; requestBody: unknown }>>;
    };
    expect(doc.paths['/api/v1/spaces/{space}/apps/{app}']!.patch).toMatchObject({
      operationId: 'updateApp',
      requestBody: {
        content: {
          'application/json': {
            schema: {
              properties: { stickySessions: { type: 'boolean' } },
              required: ['stickySessions'],
              additionalProperties: false,
            },
          },
        },
      },
    });
  });

  it('keeps an activity feed per app, newest first', async () => {
    const feed = await platform.call<{ items: { type: string; summary: string }[] }>(
      admin,
      'GET',
      `${base}/web/events?limit=100`,
    );
    const types = feed.body.items.map((e) => e.type);
    expect(types[types.length - 1]).toBe('AppCreated');
    expect(types).toEqual(
      expect.arrayContaining([
        'VersionCreated',
        'VersionScaled',
        'TrafficSet',
        'InstanceRequested',
        'InstancePlaced',
      ]),
    );
  });
});

function stoppedEvent(instanceId: string) {
  return {
    type: 'InstanceStopped' as const,
    data: { instanceId, exitCode: 0 },
    metadata: {
      messageId: randomUUID(),
      correlationId: 'test',
      causationId: 'test',
      occurredAt: new Date().toISOString(),
      actor: { kind: 'node' as const, id: 'test' },
      schemaVersion: 1,
    },
  };
}
