import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectTestNats, deleteStreams, expectEventually, startNodeProcess } from '@pier/testing';
import { type Platform, startAgent, startPlatform } from './platform';

const LOST_AFTER_MS = 3000;

interface Node {
  lastSeenAt: string | null;
  id: string;
  name: string;
  state: string;
  capacity: { cpuMillicores: number; memoryMiB: number };
  engine: { driver: string; version: string };
}

describe('nodes join, are lost and come back (real processes, NATS, Postgres, Docker)', () => {
  let platform: Platform;
  let clusterId: string;
  let token: string;
  let admin: string;
  const stateDir = mkdtempSync(join(tmpdir(), 'pier-e2e-'));

  beforeAll(async () => {
    platform = await startPlatform('nodes', { PIER_NODE_LOST_AFTER_MS: String(LOST_AFTER_MS) });
    admin = await platform.login(platform.admin.email, platform.admin.password);
    const cluster = await platform.call<{ id: string }>(admin, 'POST', '/clusters', { name: 'e2e' });
    expect(cluster.status).toBe(201);
    clusterId = cluster.body.id;
    const created = await platform.call<{ token: string }>(
      admin,
      'POST',
      `/clusters/${clusterId}/join-tokens`,
      { maxUses: null },
    );
    expect(created.status).toBe(201);
    token = created.body.token;
  });

  afterAll(async () => {
    await platform?.stop();
    const nc = await connectTestNats();
    await deleteStreams(nc, platform.prefix);
    await nc.close();
  });

  const nodes = async () =>
    (await platform.call<{ items: Node[] }>(admin, 'GET', `/clusters/${clusterId}/nodes`)).body.items;
  const byName = async (name: string) => (await nodes()).find((n) => n.name === name);

  it('reports two joined agents as ready nodes with the capacity of the Docker engine', async () => {
    startAgent(platform, 'one', join(stateDir, 'one'), token);
    startAgent(platform, 'two', join(stateDir, 'two'), token);
    await expectEventually(
      async () => {
        const all = await nodes();
        expect(all.map((n) => [n.name, n.state]).sort()).toEqual([
          ['one', 'ready'],
          ['two', 'ready'],
        ]);
        for (const n of all) {
          expect(n.capacity.cpuMillicores).toBeGreaterThan(0);
          expect(n.capacity.memoryMiB).toBeGreaterThan(0);
          expect(n.engine.driver).toBe('docker');
          expect(n.engine.version).not.toBe('');
        }
      },
      { timeoutMs: 30_000, what: 'both nodes ready' },
    );
    const cluster = await platform.call<{ state: string; readyNodeCount: number }>(
      admin,
      'GET',
      `/clusters/${clusterId}`,
    );
    expect(cluster.body).toMatchObject({ state: 'ready', readyNodeCount: 2 });
  });

  it(`marks a killed agent's node lost within ${LOST_AFTER_MS} ms + 1 s, and the same node ready after a restart`, async () => {
    const one = platform.processes.find((p) => p.name === 'agent-one')!;
    const nodeId = (await byName('one'))!.id;
    const killedAt = Date.now();
    one.child.kill('SIGKILL');
    await expectEventually(async () => expect((await byName('one'))!.state).toBe('lost'), {
      timeoutMs: LOST_AFTER_MS + 1000,
      intervalMs: 100,
      what: 'node lost',
    });
    expect(Date.now() - killedAt).toBeLessThanOrEqual(LOST_AFTER_MS + 1000);
    expect((await byName('two'))!.state).toBe('ready');

    startAgent(platform, 'one', join(stateDir, 'one')); // no token: it rejoins with its stored identity
    await expectEventually(
      async () => expect(await byName('one')).toMatchObject({ id: nodeId, state: 'ready' }),
      {
        timeoutMs: 30_000,
        what: 'same node ready again',
      },
    );
    expect((await nodes()).filter((n) => n.name === 'one')).toHaveLength(1);
  });

  it('makes an agent with an unknown join token exit non-zero with a clear message, creating no node', async () => {
    const agent = startAgent(platform, 'stranger', join(stateDir, 'stranger'), `${token.slice(0, -6)}ABCDEF`);
    expect(await agent.exited).not.toBe(0);
    expect(agent.output()).toMatch(/join refused \(JOIN_TOKEN_INVALID\)/);
    expect(await byName('stranger')).toBeUndefined();
  });

  it('makes an agent with an expired join token exit non-zero with a clear message, creating no node', async () => {
    const created = await platform.call<{ token: string; expiresAt: string }>(
      admin,
      'POST',
      `/clusters/${clusterId}/join-tokens`,
      {
        ttlSeconds: 1,
      },
    );
    await expectEventually(() => expect(Date.now()).toBeGreaterThan(Date.parse(created.body.expiresAt)), {
      timeoutMs: 3000,
    });
    const agent = startAgent(platform, 'late', join(stateDir, 'late'), created.body.token);
    expect(await agent.exited).not.toBe(0);
    expect(agent.output()).toMatch(/join refused \(JOIN_TOKEN_EXPIRED\): the join token expired at/);
    expect(await byName('late')).toBeUndefined();
  });

  it('keeps a node stopped by SIGTERM in the cluster (lost, not left) until `leave` takes it out', async () => {
    const two = platform.processes.find((p) => p.name === 'agent-two')!;
    expect(await two.stop('SIGTERM')).toBe(0);
    // Stopping is not leaving: the node is lost once silent for the window, as after a crash.
    await expectEventually(async () => expect((await byName('two'))!.state).toBe('lost'), {
      timeoutMs: LOST_AFTER_MS + 15_000,
    });
    const leave = startNodeProcess(
      'agent-two-leave',
      join(__dirname, '..', '..', 'services', 'agent', 'dist', 'main.js'),
      { ...platform.env, PIER_AGENT_NAME: 'two', PIER_AGENT_STATE_DIR: join(stateDir, 'two') },
      ['leave'],
    );
    platform.processes.push(leave);
    expect(await leave.exited).toBe(0);
    await expectEventually(async () => expect((await byName('two'))!.state).toBe('left'));
  });

  it('answers bad input with 4xx and a code', async () => {
    const bad = await platform.call<{ error: { code: string } }>(admin, 'POST', `/clusters`, {
      name: '-bad-',
    });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    const missingCluster = await platform.call<{ error: { code: string } }>(
      admin,
      'GET',
      `/clusters/6f1c7c56-4a2c-4b7e-9b43-0a0e6d7f1a10`,
    );
    expect(missingCluster).toMatchObject({ status: 404, body: { error: { code: 'CLUSTER_NOT_FOUND' } } });
    const missingNode = await platform.call<{ error: { code: string } }>(
      admin,
      'POST',
      `/nodes/6f1c7c56-4a2c-4b7e-9b43-0a0e6d7f1a10/cordon`,
    );
    expect(missingNode).toMatchObject({ status: 404, body: { error: { code: 'NODE_NOT_FOUND' } } });
    const taken = await platform.call<{ error: { code: string } }>(admin, 'POST', `/clusters`, {
      name: 'e2e',
    });
    expect(taken).toMatchObject({ status: 409, body: { error: { code: 'CLUSTER_NAME_TAKEN' } } });
  });

  it('rebuilds the read model by replay while the service keeps running', async () => {
    const snapshot = async () => (await nodes()).map(({ lastSeenAt: _seen, ...rest }) => rest);
    const before = await snapshot();
    const rebuild = startNodeProcess(
      'rebuild',
      join(__dirname, '..', '..', 'services', 'clusters', 'dist', 'main.js'),
      { ...platform.env, PIER_DATABASE_SCHEMA: platform.schemas.clusters },
      ['rebuild-projections'],
    );
    expect(await rebuild.exited).toBe(0);
    expect(await snapshot()).toEqual(before);

    // The running service's own projection carries on after its consumer was replaced under it.
    const one = (await byName('one'))!;
    expect((await platform.call(admin, 'POST', `/nodes/${one.id}/cordon`)).status).toBe(200);
    await expectEventually(async () => expect((await byName('one'))!.state).toBe('cordoned'), {
      timeoutMs: 15_000,
    });
  });
});
