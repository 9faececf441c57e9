import { randomBytes, randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { JoinNode, subjectsFor } from '@pier/contracts';
import { RpcClient } from '@pier/messaging';
import { connectTestNats, deleteStreams, expectEventually, httpJson } from '@pier/testing';
import { type Platform, startPlatform } from '../platform';
import { hostileRequests, type HostileRequest, type Operation, operationsOf } from './hostile-requests';
import { createTenant, expectStatus, type Tenant } from './tenants';

/** Fixed, so a failure can be replayed; FUZZ_SEED tries others. */
const SEED = Number(process.env.FUZZ_SEED ?? 20_251_123);
/** Variants per operation for a caller it is meant for, and for one it is not (who is refused early). */
const BUDGET = { allowed: 80, refused: 8 };
const PARALLEL = 4;
/** FUZZ_VERBOSE=1 also prints every variant that was accepted (2xx), to review what passes validation. */
const VERBOSE = process.env.FUZZ_VERBOSE === '1';

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly error?: string;
}
type Actor = {
  readonly name: string;
  readonly token: string | null;
  readonly allowed: (op: Operation) => boolean;
};

// A connection per request: a kept-alive socket the server just closed would read as a crash.
const agent = new Agent({ keepAlive: false, maxSockets: PARALLEL });

/** Sends a request exactly as built (no URL normalisation, any method with any body). */
function send(api: URL, r: HostileRequest, token: string | null): Promise<Answer> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (r.contentType) headers['content-type'] = r.contentType;
    if (r.body !== null) headers['content-length'] = String(Buffer.byteLength(r.body));
    const req = httpRequest(
      {
        host: api.hostname,
        port: api.port,
        method: r.method,
        path: `${api.pathname}${r.url}`,
        headers,
        agent,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text.length < 2000 ? (text += c) : undefined));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', (e) => resolve({ status: res.statusCode ?? 0, text, error: e.message }));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (e: Error & { code?: string }) =>
      resolve({ status: 0, text: '', error: e.code ?? e.message }),
    );
    req.end(r.body ?? undefined);
  });
}

/** A server may cut a request it refused while the client still sends it (an over-long URL, say). */
const cutWhileSending = (r: HostileRequest, a: Answer) =>
  a.status === 0 &&
  ['EPIPE', 'ECONNRESET'].includes(a.error ?? '') &&
  r.url.length + (r.body?.length ?? 0) > 16_000;

/**
 * The fuzz pass: every operation of the OpenAPI document gets schema-driven hostile variants of its path
 * parameters, query and body — as a platform admin, as a tenant and anonymously — against the whole
 * control plane. Not one may answer 5xx; afterwards the platform must still serve, and what the other
 * tenant stored (which no fuzzed request had the right to change) must be intact.
 */
describe('fuzz: hostile requests on every operation never get a 5xx', () => {
  let platform: Platform;
  let api: URL;
  let admin: string;
  let fuzzed: Tenant; // the tenant whose names the fuzz uses
  let other: Tenant; // the tenant whose data must come through untouched
  let pathValues: Record<string, string>;
  let before: Record<string, unknown>;

  beforeAll(async () => {
    platform = await startPlatform('fuzz');
    api = new URL(platform.api);
    admin = await platform.login(platform.admin.email, platform.admin.password);
    const cluster = expectStatus(
      await platform.call<{ id: string }>(admin, 'POST', '/clusters', { name: 'main' }),
      201,
      'cluster',
    );
    fuzzed = await createTenant(platform, admin, 'fuzzed', 'main');
    other = await createTenant(platform, admin, 'other', 'main');
    const victimToken = expectStatus(
      await platform.call<{ id: string }>(fuzzed.session, 'POST', '/tokens', { name: 'victim' }),
      201,
      'a token for the fuzz to revoke',
    );
    const adminToken = expectStatus(
      await platform.call<{ token: string }>(admin, 'POST', '/tokens', { name: 'fuzz' }),
      201,
      'admin token',
    );
    admin = adminToken.token; // logout cannot end an API token
    expectStatus(
      await platform.call(fuzzed.session, 'POST', `/spaces/${fuzzed.space}/apps/web/domains`, {
        host: 'fuzz.example.org',
      }),
      200,
      'domain',
    );
    pathValues = {
      space: fuzzed.space,
      app: 'web',
      version: '1',
      name: 'db',
      host: 'fuzz.example.org',
      userId: fuzzed.id,
      tokenId: victimToken.id,
      clusterId: cluster.id,
      nodeId: await joinNode(cluster.id),
    };
    before = await snapshot(other);
  });

  afterAll(async () => {
    agent.destroy();
    await platform?.stop();
    const nc = await connectTestNats();
    await deleteStreams(nc, platform.prefix);
    await nc.close();
  });

  /** A node joined through the clusters service, so node operations reach a real aggregate. */
  async function joinNode(clusterId: string): Promise<string> {
    const join = await platform.call<{ token: string }>(
      admin,
      'POST',
      `/clusters/${clusterId}/join-tokens`,
      {},
    );
    const nodeId = randomUUID();
    const nc = await connectTestNats();
    try {
      await new RpcClient(nc, subjectsFor(platform.prefix)).call(
        JoinNode,
        {
          token: join.body.token,
          nodeId,
          credential: randomBytes(32).toString('base64url'),
          name: 'fuzz-node',
          hostname: 'fuzz-node',
          capacity: { cpuMillicores: 1000, memoryMiB: 512 },
          engine: { driver: 'docker', version: '20.10', os: 'Debian', arch: 'x86_64', kernel: '6' },
          agentVersion: 'fuzz',
        },
        { actor: { kind: 'node', id: nodeId }, correlationId: 'fuzz-join' },
      );
    } finally {
      await nc.close();
    }
    return nodeId;
  }

  /** Everything of `t` that reads back through the API. */
  async function snapshot(t: Tenant): Promise<Record<string, unknown>> {
    const read = async (token: string, path: string) =>
      expectStatus(await platform.call(token, 'GET', path), 200, path);
    const tokens = (await read(t.session, '/tokens')) as {
      items: { id: string; name: string; state: string }[];
    };
    return {
      space: await read(t.session, `/spaces/${t.space}`),
      app: await read(t.session, `/spaces/${t.space}/apps/web`),
      secret: await read(t.session, `/spaces/${t.space}/secrets/db`),
      members: await read(t.session, `/spaces/${t.space}/members`),
      quota: await read(t.session, `/spaces/${t.space}/quota`),
      tokens: tokens.items.map(({ id, name, state }) => ({ id, name, state })),
      me: await read(t.apiToken.token, '/me'),
    };
  }

  /** Puts back what the fuzz may have deleted of the fuzzed tenant, so later operations reach handlers. */
  async function restoreFuzzed(): Promise<void> {
    const s = `/spaces/${fuzzed.space}`;
    if ((await platform.call(fuzzed.session, 'GET', `${s}/apps/web`)).status === 200) return;
    await platform.call(fuzzed.session, 'POST', '/spaces', { name: fuzzed.space });
    await platform.call(fuzzed.session, 'POST', `${s}/apps`, { name: 'web', cluster: 'main' });
    await platform.call(fuzzed.session, 'POST', `${s}/apps/web/versions`, fuzzed.spec);
    await platform.call(fuzzed.session, 'POST', `${s}/secrets`, {
      name: 'db',
      value: { kind: 'generic', data: { PASSWORD: 'again' } },
    });
  }

  it('answers every hostile variant of every operation with a non-5xx', async () => {
    const doc = (await httpJson<{ paths: never }>('GET', `${platform.api}/openapi.json`)).body;
    // Deletions last: they take away what the others would reach.
    const ops = operationsOf(doc).sort(
      (a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'),
    );
    expect(ops.length).toBeGreaterThan(40);
    const actors: Actor[] = [
      { name: 'admin', token: admin, allowed: () => true },
      { name: 'tenant', token: fuzzed.apiToken.token, allowed: (op) => op.access.kind !== 'admin' },
      { name: 'anonymous', token: null, allowed: (op) => op.access.kind === 'public' },
    ];
    const failures: string[] = [];
    const accepted: string[] = [];
    const counts: Record<string, number> = {};
    const started = Date.now();
    for (const op of ops) {
      await restoreFuzzed();
      for (const actor of actors) {
        // Logins with a well-formed email count as failures of the address: only the anonymous caller
        // fuzzes them in full, so the address stays well under its ceiling.
        const full = actor.allowed(op) && (op.access.kind !== 'public' || actor.token === null);
        const requests = hostileRequests(
          op,
          { pathValues, seed: SEED },
          full ? BUDGET.allowed : BUDGET.refused,
        );
        for (let i = 0; i < requests.length; i += PARALLEL) {
          const batch = requests.slice(i, i + PARALLEL);
          const answers = await Promise.all(batch.map((r) => send(api, r, actor.token)));
          batch.forEach((r, j) => {
            const a = answers[j]!;
            const key = a.status === 0 ? `no answer (${a.error})` : `${Math.floor(a.status / 100)}xx`;
            counts[key] = (counts[key] ?? 0) + 1;
            const line = () =>
              `${actor.name} ${op.operationId} [${r.category}] ${r.method} ${r.url.slice(0, 300)}` +
              ` (${r.contentType ?? 'no content type'}: ${(r.body ?? '').slice(0, 300)})` +
              ` → ${a.status || a.error} ${a.text.slice(0, 300)}`;
            if (a.status >= 500 || (a.status === 0 && !cutWhileSending(r, a))) failures.push(line());
            else if (VERBOSE && a.status < 300) accepted.push(line());
          });
        }
      }
    }
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    process.stdout.write(
      `fuzz: ${total} requests in ${Math.round((Date.now() - started) / 1000)} s over ${ops.length} operations ` +
        `(seed ${SEED}): ${JSON.stringify(counts)}\n${[...accepted, ...failures].join('\n')}\n`,
    );
    expect(total).toBeGreaterThan(2000);
    expect(failures).toEqual([]);
  }, 600_000);

  it('still serves afterwards: logins work, the other tenant’s data is intact, new versions and audit records land', async () => {
    for (const p of platform.processes)
      expect({ name: p.name, exitCode: p.child.exitCode }).toEqual({ name: p.name, exitCode: null });
    await platform.login(platform.admin.email, platform.admin.password);
    const session = await platform.login(other.email, other.password);
    expect(await snapshot({ ...other, session })).toEqual(before);
    const auditPath = `/spaces/${other.space}/audit?action=createVersion`;
    const recorded = async () =>
      expectStatus(await platform.call<{ items: unknown[] }>(session, 'GET', auditPath), 200, 'audit').items
        .length;
    const recordedBefore = await recorded();
    const next = expectStatus(
      await platform.call<{ version: number }>(
        session,
        'POST',
        `/spaces/${other.space}/apps/web/versions`,
        other.spec,
      ),
      201,
      'a new version after the fuzz',
    );
    expect(next.version).toBe(2);
    // The projections still follow: the new version's audit record reaches the read model.
    await expectEventually(async () => expect(await recorded()).toBeGreaterThan(recordedBefore), {
      timeoutMs: 15_000,
      what: 'the audit record of the version created after the fuzz',
    });
  });
});
