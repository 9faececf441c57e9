import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  createMessage,
  InstanceAssigned,
  InstanceUnassigned,
  JoinNode,
  NODE_ASSIGNMENT,
  pierEvents,
  RevealSecret,
  subjectsFor,
  versionSpecSchema,
} from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { PUBLIC_OPERATIONS } from '@pier/gateway';
import { RpcClient } from '@pier/messaging';
import { connectTestNats, deleteStreams, expectEventually, httpJson, queryDatabase } from '@pier/testing';
import { type Platform, startPlatform } from './platform';

type OpenApi = {
  paths: Record<
    string,
    Record<
      string,
      { operationId: string; security?: unknown[]; 'x-pier-access': { kind: string; permission?: string } }
    >
  >;
};
type ErrorReply = { error: { code: string; message: string } };
const MUTATING = new Set(['post', 'put', 'patch', 'delete']);

/** Users, spaces, roles, tokens, secrets and audit against real processes, NATS and Postgres. */
describe('tenancy: every endpoint guarded', () => {
  let platform: Platform;
  let admin: string;
  const people: Record<
    'alice' | 'bob' | 'carol',
    { id: string; email: string; password: string; token: string }
  > = {} as never;

  beforeAll(async () => {
    // The route matrix below sends hundreds of refused requests from this one address: records of
    // refused requests are rate-limited per address, and this suite reads them back.
    platform = await startPlatform('tenancy', {
      PIER_AUDIT_REFUSED_BURST: '100000',
      PIER_AUDIT_REFUSED_PER_MINUTE: '100000',
      PIER_AUDIT_REFUSED_GLOBAL_PER_MINUTE: '100000',
    });
    admin = await platform.login(platform.admin.email, platform.admin.password);
    for (const name of ['alice', 'bob', 'carol'] as const) {
      const email = `${name}@example.com`;
      const password = `pw-${randomBytes(12).toString('base64url')}`;
      const created = await platform.call<{ id: string }>(admin, 'POST', '/users', {
        email,
        displayName: name,
        password,
      });
      expect(created.status).toBe(201);
      people[name] = { id: created.body.id, email, password, token: await platform.login(email, password) };
    }
    expect((await platform.call(people.alice.token, 'POST', '/spaces', { name: 'acme' })).status).toBe(201);
    expect(
      (
        await platform.call(people.alice.token, 'PUT', `/spaces/acme/members/${people.bob.id}`, {
          role: 'auditor',
        })
      ).status,
    ).toBe(200);
  });

  afterAll(async () => {
    await platform?.stop();
    const nc = await connectTestNats();
    await deleteStreams(nc, platform.prefix);
    await nc.close();
  });

  /** Every operation of the OpenAPI document, with a URL whose `{space}` is acme and other ids random. */
  async function operations() {
    const doc = (await httpJson<OpenApi>('GET', `${platform.api}/openapi.json`)).body;
    return Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({
        method: method.toUpperCase(),
        mutating: MUTATING.has(method),
        operationId: op.operationId,
        public: Array.isArray(op.security) && op.security.length === 0,
        access: op['x-pier-access'],
        url: path
          .replace('/api/v1', '')
          .replace(/\{(\w+)\}/g, (_m, p: string) =>
            p === 'space' ? 'acme' : p === 'name' ? 'some-name' : randomUUID(),
          ),
      })),
    );
  }

  function expiredAccessToken(userId: string): string {
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const body = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ iss: 'pier', sub: userId, sid: randomUUID(), iat: 1, exp: 2 })}`;
    return `${body}.${createHmac('sha256', Buffer.from(platform.env.PIER_JWT_SECRET!)).update(body).digest('base64url')}`;
  }

  it('route matrix: every route refuses missing, bad, expired and revoked credentials, outsiders and auditors', async () => {
    const ops = await operations();
    expect(ops.length).toBeGreaterThan(30);
    expect(
      ops
        .filter((o) => o.public)
        .map((o) => o.operationId)
        .sort(),
    ).toEqual([...PUBLIC_OPERATIONS].sort());

    const revoked = await platform.call<{ id: string; token: string }>(
      people.carol.token,
      'POST',
      '/tokens',
      { name: 'soon revoked' },
    );
    expect((await platform.call(people.carol.token, 'DELETE', `/tokens/${revoked.body.id}`)).status).toBe(
      200,
    );
    const bad = {
      none: undefined,
      malformed: 'not-a-token',
      forged: `${expiredAccessToken(people.carol.id).slice(0, -4)}AAAA`,
      expired: expiredAccessToken(people.carol.id),
      revoked: revoked.body.token,
    };
    const failures: string[] = [];
    const check = (what: string, got: number, allowed: number[]) => {
      if (!allowed.includes(got)) failures.push(`${what}: ${got}, expected ${allowed.join(' or ')}`);
    };
    for (const op of ops.filter((o) => !o.public)) {
      const label = `${op.method} ${op.url} (${op.operationId})`;
      for (const [kind, credential] of Object.entries(bad)) {
        const headers: Record<string, string> = credential ? { authorization: `Bearer ${credential}` } : {};
        check(
          `${label} with ${kind} credentials`,
          (await httpJson(op.method, `${platform.api}${op.url}`, undefined, headers)).status,
          [401],
        );
      }
      if (op.access.kind === 'space') {
        check(
          `${label} by a member of another space`,
          (await platform.call(people.carol.token, op.method, op.url)).status,
          [403, 404],
        );
      }
      if (op.access.kind === 'admin') {
        check(
          `${label} by a non-admin`,
          (await platform.call(people.carol.token, op.method, op.url)).status,
          [403],
        );
      }
      if (op.mutating && (op.access.kind === 'space' || op.access.kind === 'admin')) {
        check(
          `${label} by an auditor`,
          (await platform.call(people.bob.token, op.method, op.url)).status,
          [403],
        );
      }
    }
    expect(failures).toEqual([]);
  });

  it('applies a role change to the very next request', async () => {
    const secret = (token: string, name: string) =>
      platform.call(token, 'POST', '/spaces/acme/secrets', {
        name,
        value: { kind: 'generic', data: { K: 'v' } },
      });
    expect((await secret(people.bob.token, 'by-auditor')).status).toBe(403);
    await platform.call(people.alice.token, 'PUT', `/spaces/acme/members/${people.bob.id}`, {
      role: 'developer',
    });
    expect((await secret(people.bob.token, 'by-developer')).status).toBe(201);
    await platform.call(people.alice.token, 'PUT', `/spaces/acme/members/${people.bob.id}`, {
      role: 'auditor',
    });
    expect((await secret(people.bob.token, 'by-auditor-again')).status).toBe(403);
    expect((await platform.call(people.bob.token, 'GET', '/spaces/acme/audit')).status).toBe(200);
    await platform.call(people.alice.token, 'DELETE', `/spaces/acme/members/${people.bob.id}`);
    expect((await platform.call<ErrorReply>(people.bob.token, 'GET', '/spaces/acme')).body.error.code).toBe(
      'SPACE_NOT_FOUND',
    );
    await platform.call(people.alice.token, 'PUT', `/spaces/acme/members/${people.bob.id}`, {
      role: 'auditor',
    });
    expect((await platform.call(people.bob.token, 'GET', '/spaces/acme')).status).toBe(200);
  });

  it('keeps the last owner in place', async () => {
    const demote = await platform.call<ErrorReply>(
      people.alice.token,
      'PUT',
      `/spaces/acme/members/${people.alice.id}`,
      { role: 'developer' },
    );
    expect(demote).toMatchObject({ status: 409, body: { error: { code: 'LAST_OWNER' } } });
    const leave = await platform.call<ErrorReply>(
      people.alice.token,
      'DELETE',
      `/spaces/acme/members/${people.alice.id}`,
    );
    expect(leave).toMatchObject({ status: 409, body: { error: { code: 'LAST_OWNER' } } });
    const members = await platform.call<{ items: { userId: string; role: string }[] }>(
      people.alice.token,
      'GET',
      '/spaces/acme/members',
    );
    expect(members.body.items).toContainEqual(
      expect.objectContaining({ userId: people.alice.id, role: 'owner' }),
    );
  });

  it('never lets a secret value out: not through the API, not in an event, a log line or a table', async () => {
    const plaintext = `s3cr3t-${randomBytes(16).toString('hex')}`;
    const created = await platform.call<{ metadata: Record<string, unknown> }>(
      people.alice.token,
      'POST',
      '/spaces/acme/secrets',
      {
        name: 'database',
        value: { kind: 'generic', data: { DATABASE_PASSWORD: plaintext } },
      },
    );
    expect(created.status).toBe(201);
    expect(created.body.metadata).toEqual({ kind: 'generic', keys: ['DATABASE_PASSWORD'] });
    const reads = [
      await platform.call(people.alice.token, 'GET', '/spaces/acme/secrets/database'),
      await platform.call(people.alice.token, 'GET', '/spaces/acme/secrets'),
      await platform.call(people.bob.token, 'GET', '/spaces/acme/secrets/database'),
    ];
    for (const r of reads) {
      expect(r.status).toBe(200);
      expect(JSON.stringify(r.body)).not.toContain(plaintext);
    }

    // It is stored, encrypted: a platform service with the internal token gets it back.
    const nc = await connectTestNats();
    try {
      const rpc = new RpcClient(nc, subjectsFor(platform.prefix));
      const revealed = await rpc.call(
        RevealSecret,
        {
          space: 'acme',
          name: 'database',
          caller: { kind: 'service', token: platform.env.PIER_INTERNAL_TOKEN! },
        },
        { actor: { kind: 'service', id: 'test' }, correlationId: 'reveal' },
      );
      expect(revealed.value).toEqual({ kind: 'generic', data: { DATABASE_PASSWORD: plaintext } });
      // A node agent proves itself with its node credential (checked by the clusters service).
      const cluster = await platform.call<{ id: string }>(admin, 'POST', '/clusters', { name: 'secrets' });
      const join = await platform.call<{ token: string }>(
        admin,
        'POST',
        `/clusters/${cluster.body.id}/join-tokens`,
        {},
      );
      const node = { nodeId: randomUUID(), credential: randomBytes(32).toString('base64url') };
      const facts = {
        hostname: 'h',
        capacity: { cpuMillicores: 1000, memoryMiB: 512 },
        engine: { driver: 'docker', version: '20.10', os: 'Debian', arch: 'x86_64', kernel: '6' },
        agentVersion: 't',
      };
      await rpc.call(
        JoinNode,
        { token: join.body.token, ...node, name: 'n', ...facts },
        { actor: { kind: 'node', id: node.nodeId }, correlationId: 'join' },
      );
      const revealByNode = () =>
        rpc.call(
          RevealSecret,
          { space: 'acme', name: 'database', caller: { kind: 'node', ...node } },
          { actor: { kind: 'node', id: node.nodeId }, correlationId: 'reveal-node' },
        );
      // A genuine node credential alone opens nothing: the node runs nothing that reads the secret.
      await expect(revealByNode()).rejects.toMatchObject({ code: 'FORBIDDEN' });
      // Once an instance that refers to it is assigned to the node (as the scheduler would), it may.
      const store = await EventStore.open(nc, subjectsFor(platform.prefix), pierEvents);
      const spec = versionSpecSchema.parse({
        image: 'pier/busybox:latest',
        secretEnv: { DATABASE_PASSWORD: { secret: 'database', key: 'DATABASE_PASSWORD' } },
      });
      const instanceId = randomUUID();
      await store.append(
        NODE_ASSIGNMENT,
        node.nodeId,
        [
          createMessage(
            InstanceAssigned,
            { nodeId: node.nodeId, instanceId, space: 'acme', app: 'web', version: 1, spec },
            { messageId: randomUUID(), correlationId: 'assign', actor: { kind: 'service', id: 'test' } },
            new Date().toISOString(),
          ),
        ],
        'any',
      );
      expect((await revealByNode()).value).toEqual(revealed.value);
      // Unassigned, it may not any more.
      await store.append(
        NODE_ASSIGNMENT,
        node.nodeId,
        [
          createMessage(
            InstanceUnassigned,
            { nodeId: node.nodeId, instanceId, reason: 'scale-down' },
            { messageId: randomUUID(), correlationId: 'unassign', actor: { kind: 'service', id: 'test' } },
            new Date().toISOString(),
          ),
        ],
        'any',
      );
      await expect(revealByNode()).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(
        rpc.call(
          RevealSecret,
          {
            space: 'acme',
            name: 'database',
            caller: { kind: 'node', nodeId: node.nodeId, credential: 'x'.repeat(43) },
          },
          { actor: { kind: 'node', id: node.nodeId }, correlationId: 'reveal-bad-node' },
        ),
      ).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(
        rpc.call(
          RevealSecret,
          { space: 'acme', name: 'database', caller: { kind: 'service', token: 'guess'.repeat(8) } },
          { actor: { kind: 'service', id: 'x' }, correlationId: 'x' },
        ),
      ).rejects.toMatchObject({ code: 'FORBIDDEN' });

      // JetStream: every stored message of every stream of this platform.
      const jsm = await jetstreamManager(nc);
      const stream = subjectsFor(platform.prefix).eventStream;
      const { state } = await jsm.streams.info(stream);
      expect(state.messages).toBeGreaterThan(10);
      for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq });
        if (m) expect(new TextDecoder().decode(m.data)).not.toContain(plaintext);
      }
    } finally {
      await nc.close();
    }

    // Postgres: every row of every table of every service schema.
    for (const schema of Object.values(platform.schemas)) {
      const tables = await queryDatabase<{ table_name: string }>(
        platform.databaseUrl,
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
        [schema],
      );
      for (const { table_name } of tables) {
        const rows = await queryDatabase<{ row: string }>(
          platform.databaseUrl,
          `SELECT t::text AS row FROM "${schema}"."${table_name}" t`,
        );
        for (const { row } of rows) expect(row).not.toContain(plaintext);
      }
    }

    // Logs: everything every process has written.
    for (const p of platform.processes) expect(p.output()).not.toContain(plaintext);
  });

  it('refuses bad input with 4xx and a code, creating nothing', async () => {
    const users = async () =>
      (await platform.call<{ items: { email: string }[] }>(admin, 'GET', '/users?limit=1000')).body.items.map(
        (u) => u.email,
      );
    const weak = await platform.call<ErrorReply>(admin, 'POST', '/users', {
      email: 'weak@example.com',
      displayName: 'W',
      password: 'short',
    });
    expect(weak).toMatchObject({ status: 422, body: { error: { code: 'WEAK_PASSWORD' } } });
    const missing = await platform.call<ErrorReply>(admin, 'POST', '/users', {
      email: 'missing@example.com',
      displayName: 'M',
    });
    expect(missing).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    expect(await users()).not.toEqual(expect.arrayContaining(['weak@example.com']));
    expect(await users()).not.toEqual(expect.arrayContaining(['missing@example.com']));

    const dup = await platform.call<ErrorReply>(admin, 'POST', '/users', {
      email: 'ALICE@example.com',
      displayName: 'Other',
      password: 'another-long-password',
    });
    expect(dup).toMatchObject({ status: 409, body: { error: { code: 'EMAIL_TAKEN' } } });
    await platform.login(people.alice.email, people.alice.password); // the original is untouched

    const space = await platform.call<ErrorReply>(people.alice.token, 'POST', '/spaces', {
      name: 'Not A Label',
    });
    expect(space).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    const role = await platform.call<ErrorReply>(
      people.alice.token,
      'PUT',
      `/spaces/acme/members/${people.carol.id}`,
      { role: 'king' },
    );
    expect(role).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    const nobody = await platform.call<ErrorReply>(
      people.alice.token,
      'PUT',
      `/spaces/acme/members/${randomUUID()}`,
      { role: 'developer' },
    );
    expect(nobody).toMatchObject({ status: 404, body: { error: { code: 'USER_NOT_FOUND' } } });
    const taken = await platform.call<ErrorReply>(people.carol.token, 'POST', '/spaces', { name: 'acme' });
    expect(taken).toMatchObject({ status: 409, body: { error: { code: 'SPACE_NAME_TAKEN' } } });
    const quota = await platform.call<ErrorReply>(admin, 'PUT', '/spaces/acme/quota', {
      maxApps: -1,
      maxInstances: null,
      maxCpuMillicores: null,
      maxMemoryMiB: null,
    });
    expect(quota).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    const members = await platform.call<{ items: { userId: string }[] }>(
      people.alice.token,
      'GET',
      '/spaces/acme/members',
    );
    expect(members.body.items.map((m) => m.userId)).not.toContain(people.carol.id);
  });

  it('lets admins set quotas that members can read', async () => {
    const quota = { maxApps: 5, maxInstances: 20, maxCpuMillicores: 4000, maxMemoryMiB: 8192 };
    expect((await platform.call(people.alice.token, 'PUT', '/spaces/acme/quota', quota)).status).toBe(403);
    expect((await platform.call(admin, 'PUT', '/spaces/acme/quota', quota)).body).toEqual(quota);
    expect((await platform.call(people.bob.token, 'GET', '/spaces/acme/quota')).body).toEqual(quota);
  });

  it('ends a session on logout and rotates refresh tokens, ending the session when one is reused', async () => {
    const login = await httpJson<{ accessToken: string; refreshToken: string }>(
      'POST',
      `${platform.api}/auth/login`,
      {
        email: people.carol.email,
        password: people.carol.password,
      },
    );
    const refreshed = await httpJson<{ accessToken: string; refreshToken: string }>(
      'POST',
      `${platform.api}/auth/refresh`,
      {
        refreshToken: login.body.refreshToken,
      },
    );
    expect(refreshed.status).toBe(200);
    expect((await platform.call(refreshed.body.accessToken, 'GET', '/me')).status).toBe(200);
    const reused = await httpJson<ErrorReply>('POST', `${platform.api}/auth/refresh`, {
      refreshToken: login.body.refreshToken,
    });
    expect(reused.status).toBe(401);
    expect((await platform.call(refreshed.body.accessToken, 'GET', '/me')).status).toBe(401);

    const other = await platform.login(people.carol.email, people.carol.password);
    expect((await platform.call(other, 'POST', '/auth/logout')).status).toBe(200);
    expect((await platform.call(other, 'GET', '/me')).status).toBe(401);
  });

  it('limits an API token to the spaces it names', async () => {
    const created = await platform.call<{ token: string; id: string }>(
      people.alice.token,
      'POST',
      '/tokens',
      { name: 'ci', spaces: ['acme'] },
    );
    expect(created.status).toBe(201);
    const token = created.body.token;
    expect((await platform.call(token, 'GET', '/spaces/acme')).status).toBe(200);
    expect((await platform.call(token, 'GET', '/spaces/alice')).status).toBe(404);
    const listed = await platform.call<{ items: { id: string; name: string }[] }>(
      people.alice.token,
      'GET',
      '/tokens',
    );
    // `pat_<id>_<secret>`: the secret is base64url and may itself hold '_'.
    const secret = token.split('_').slice(2).join('_');
    expect(secret.length).toBeGreaterThanOrEqual(43);
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    const foreign = await platform.call<ErrorReply>(people.carol.token, 'POST', '/tokens', {
      name: 'x',
      spaces: ['acme'],
    });
    expect(foreign.body.error.code).toBe('SPACE_NOT_FOUND');
  });

  it('reuses an authorization until the tenancy changes: revoked, removed and ended apply to the next request', async () => {
    const hits = async () => {
      const text = await (await fetch(`${platform.api.replace(/\/api\/v1$/, '')}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('pier_api_authorization_lookups_total{') && l.includes('outcome="hit"'));
      return Number(line?.split(' ').pop() ?? 0);
    };
    const created = await platform.call<{ token: string; id: string }>(
      people.alice.token,
      'POST',
      '/tokens',
      {
        name: 'kept',
        spaces: ['acme'],
      },
    );
    const token = created.body.token;
    const before = await hits();
    for (let i = 0; i < 3; i++) expect((await platform.call(token, 'GET', '/spaces/acme')).status).toBe(200);
    expect(await hits()).toBeGreaterThanOrEqual(before + 2);
    expect((await platform.call(people.alice.token, 'DELETE', `/tokens/${created.body.id}`)).status).toBe(
      200,
    );
    expect((await platform.call<ErrorReply>(token, 'GET', '/spaces/acme')).body.error.code).toBe(
      'UNAUTHENTICATED',
    );

    // A member removed: their kept authorization for the space goes with it.
    const carol = people.carol;
    await platform.call(people.alice.token, 'PUT', `/spaces/acme/members/${carol.id}`, { role: 'developer' });
    for (let i = 0; i < 2; i++)
      expect((await platform.call(carol.token, 'GET', '/spaces/acme')).status).toBe(200);
    await platform.call(people.alice.token, 'DELETE', `/spaces/acme/members/${carol.id}`);
    expect((await platform.call<ErrorReply>(carol.token, 'GET', '/spaces/acme')).body.error.code).toBe(
      'SPACE_NOT_FOUND',
    );

    // A session ended by logging out, while its authorization was kept.
    const session = await platform.login(carol.email, carol.password);
    for (let i = 0; i < 2; i++) expect((await platform.call(session, 'GET', '/spaces')).status).toBe(200);
    expect((await platform.call(session, 'POST', '/auth/logout')).status).toBe(200);
    expect((await platform.call<ErrorReply>(session, 'GET', '/spaces')).body.error.code).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('records every mutating request in the audit log, readable by owners and auditors', async () => {
    const correlationId = `audit-${randomUUID()}`;
    await httpJson(
      'PATCH',
      `${platform.api}/spaces/acme`,
      { displayName: 'Acme Inc' },
      {
        authorization: `Bearer ${people.alice.token}`,
        'x-request-id': correlationId,
      },
    );
    await httpJson('DELETE', `${platform.api}/spaces/acme`, undefined, {
      authorization: `Bearer ${people.bob.token}`,
    });
    type Page = {
      items: {
        action: string;
        actor: { id: string };
        correlationId: string;
        outcome: string;
        status: number;
        space: string | null;
      }[];
    };
    await expectEventually(async () => {
      const page = await platform.call<Page>(people.bob.token, 'GET', '/spaces/acme/audit?limit=200');
      expect(page.status).toBe(200);
      expect(page.body.items).toContainEqual(
        expect.objectContaining({
          action: 'updateSpace',
          correlationId,
          outcome: 'succeeded',
          actor: expect.objectContaining({ id: people.alice.id }),
        }),
      );
      expect(page.body.items).toContainEqual(
        expect.objectContaining({ action: 'setMember', outcome: 'succeeded' }),
      );
      // What a member was refused is not the space's history: it is in the platform log, for admins.
      expect(page.body.items.filter((e) => e.action === 'deleteSpace')).toEqual([]);
      const refused = await platform.call<Page>(admin, 'GET', '/audit?action=deleteSpace&limit=200');
      expect(refused.body.items).toContainEqual(
        expect.objectContaining({
          action: 'deleteSpace',
          outcome: 'denied',
          status: 403,
          space: null,
          actor: expect.objectContaining({ id: people.bob.id }),
        }),
      );
    });
    const filtered = await platform.call<Page>(
      people.alice.token,
      'GET',
      `/spaces/acme/audit?action=updateSpace&actor=${people.alice.id}`,
    );
    expect(filtered.body.items.length).toBeGreaterThan(0);
    expect(
      filtered.body.items.every((e) => e.action === 'updateSpace' && e.actor.id === people.alice.id),
    ).toBe(true);
    const platformWide = await platform.call<Page>(admin, 'GET', '/audit?action=createUser');
    expect(platformWide.body.items.length).toBeGreaterThanOrEqual(3);
    expect((await platform.call(people.carol.token, 'GET', '/spaces/acme/audit')).status).toBe(404);
    expect((await platform.call(people.carol.token, 'GET', '/audit')).status).toBe(403);
  });
});
