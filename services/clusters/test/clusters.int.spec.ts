import { randomBytes, randomUUID } from 'node:crypto';
import {
  AuthenticateNode,
  ChangeNodeScheduling,
  CreateCluster,
  CreateJoinToken,
  GetCluster,
  GetNode,
  JoinNode,
  LeaveNode,
  ListJoinTokens,
  ListNodes,
  type PierError,
  RejoinNode,
  RevokeJoinToken,
  SetNodeLabels,
  subjectsFor,
} from '@pier/contracts';
import { type CallContext, type RpcClient } from '@pier/messaging';
import { expectEventually, queryDatabase, rejectedCode, uniqueName } from '@pier/testing';
import { type ClustersUnderTest, startClusters } from './support/clusters-under-test';

const LOST_AFTER_MS = 600;
const HEARTBEAT_MS = 100;

describe('clusters service (real NATS and Postgres)', () => {
  const prefix = uniqueName('clusters');
  const subjects = subjectsFor(prefix);
  const caller: CallContext = { actor: { kind: 'user', id: 'tester' }, correlationId: 'test' };
  let url: string;
  let rpc: RpcClient;
  let clusters: ClustersUnderTest;

  beforeAll(async () => {
    clusters = await startClusters(prefix, {
      PIER_NODE_LOST_AFTER_MS: String(LOST_AFTER_MS),
      PIER_NODE_HEARTBEAT_MS: String(HEARTBEAT_MS),
      PIER_NODE_LIVENESS_CHECK_MS: '50',
    });
    ({ url, rpc } = clusters);
  });

  afterAll(() => clusters?.stop());

  const facts = {
    hostname: 'host',
    capacity: { cpuMillicores: 4000, memoryMiB: 8192 },
    engine: { driver: 'docker', version: '20.10', os: 'Debian', arch: 'x86_64', kernel: '6.1' },
    agentVersion: 'test',
  };
  const newAgent = () => ({ nodeId: randomUUID(), credential: randomBytes(32).toString('base64url') });

  async function clusterWithToken(
    name: string,
    token: { maxUses?: number | null; ttlSeconds?: number } = {},
  ) {
    const cluster = await rpc.call(CreateCluster, { name }, caller);
    const created = await rpc.call(CreateJoinToken, { clusterId: cluster.id, ...token }, caller);
    return { cluster, token: created.token, tokenId: created.id };
  }

  it('gives a cluster name to exactly one of two concurrent creations', async () => {
    const results = await Promise.allSettled([
      rpc.call(CreateCluster, { name: 'twins' }, caller),
      rpc.call(CreateCluster, { name: 'twins' }, caller),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
    expect((failed.reason as PierError).code).toBe('CLUSTER_NAME_TAKEN');
    await expectEventually(async () => {
      const rows = await queryDatabase(url, `SELECT name FROM "${prefix}".clusters WHERE name = 'twins'`);
      expect(rows).toHaveLength(1);
    });
  });

  it('joins a node with a token, reports it ready with its capacity, and keeps the token secret', async () => {
    const { cluster, token, tokenId } = await clusterWithToken('alpha');
    const agent = newAgent();
    const joined = await rpc.call(
      JoinNode,
      { token, ...agent, name: 'n1', labels: { disk: 'ssd' }, zone: 'z1', ...facts },
      caller,
    );
    expect(joined).toEqual({
      nodeId: agent.nodeId,
      clusterId: cluster.id,
      heartbeatIntervalMs: HEARTBEAT_MS,
    });

    await expectEventually(async () => {
      const node = await rpc.call(GetNode, { nodeId: agent.nodeId }, caller);
      expect(node).toMatchObject({
        state: 'ready',
        clusterId: cluster.id,
        capacity: facts.capacity,
        labels: { disk: 'ssd' },
        zone: 'z1',
      });
      expect(await rpc.call(GetCluster, { clusterId: cluster.id }, caller)).toMatchObject({
        state: 'ready',
        nodeCount: 1,
        readyNodeCount: 1,
      });
    });
    const tokens = await rpc.call(ListJoinTokens, { clusterId: cluster.id }, caller);
    expect(tokens.items).toEqual([expect.objectContaining({ id: tokenId, uses: 1, state: 'exhausted' })]);
    // `pjt_<clusterId>_<tokenId>_<secret>`: the secret is base64url and may itself hold '_'.
    const secret = token.split('_').slice(3).join('_');
    expect(secret.length).toBeGreaterThanOrEqual(43);
    expect(JSON.stringify(tokens)).not.toContain(secret);
    const stored = await queryDatabase(url, `SELECT * FROM "${prefix}".join_tokens`);
    expect(JSON.stringify(stored)).not.toContain(secret);
  });

  it('refuses unknown, expired, revoked and spent tokens without creating a node', async () => {
    const { cluster, token, tokenId } = await clusterWithToken('beta');
    const first = newAgent();
    await rpc.call(JoinNode, { token, ...first, name: 'b1', ...facts }, caller);

    const refused = async (t: string) => {
      const agent = newAgent();
      const code = await rejectedCode(
        rpc.call(JoinNode, { token: t, ...agent, name: 'x', ...facts }, caller),
      );
      expect(await rejectedCode(rpc.call(GetNode, { nodeId: agent.nodeId }, caller))).toBe('NODE_NOT_FOUND');
      return code;
    };
    expect(await refused(token)).toBe('JOIN_TOKEN_EXHAUSTED');
    expect(await refused(`${token.slice(0, -4)}AAAA`)).toBe('JOIN_TOKEN_INVALID');
    expect(await refused('pjt_garbage')).toBe('JOIN_TOKEN_INVALID');
    const other = await rpc.call(CreateJoinToken, { clusterId: cluster.id, maxUses: null }, caller);
    await rpc.call(RevokeJoinToken, { clusterId: cluster.id, tokenId: other.id }, caller);
    expect(await refused(other.token)).toBe('JOIN_TOKEN_REVOKED');
    expect(tokenId).toBeDefined();
    // The node list is the read model's: it follows the stream, a moment behind the joins.
    await expectEventually(async () => {
      const nodes = await rpc.call(ListNodes, { clusterId: cluster.id, limit: 100 }, caller);
      expect(nodes.items.map((n) => n.id)).toEqual(expect.arrayContaining([first.nodeId]));
    });
  });

  it('accepts a retried join from the same agent without spending the token twice', async () => {
    const { token } = await clusterWithToken('gamma');
    const agent = newAgent();
    await rpc.call(JoinNode, { token, ...agent, name: 'g1', ...facts }, caller);
    await expect(
      rpc.call(JoinNode, { token, ...agent, name: 'g1', ...facts }, caller),
    ).resolves.toMatchObject({ nodeId: agent.nodeId });
  });

  it('marks a silent node lost, recovers it on a heartbeat, and does not lose a node that left', async () => {
    const { cluster, token } = await clusterWithToken('delta', { maxUses: null });
    const agent = newAgent();
    await rpc.call(JoinNode, { token, ...agent, name: 'd1', ...facts }, caller);
    const beat = (seq: number) =>
      clusters.nc.publish(
        subjects.heartbeat(cluster.id, agent.nodeId),
        JSON.stringify({
          nodeId: agent.nodeId,
          clusterId: cluster.id,
          seq,
          sentAt: new Date().toISOString(),
        }),
      );

    let seq = 0;
    const timer = setInterval(() => beat(seq++), HEARTBEAT_MS);
    await expectEventually(async () =>
      expect((await rpc.call(GetNode, { nodeId: agent.nodeId }, caller)).lastSeenAt).not.toBeNull(),
    );
    await new Promise((r) => setTimeout(r, LOST_AFTER_MS * 2)); // heartbeats keep it up well past the threshold
    expect((await rpc.call(GetNode, { nodeId: agent.nodeId }, caller)).state).toBe('ready');

    clearInterval(timer);
    await expectEventually(
      async () => expect((await rpc.call(GetNode, { nodeId: agent.nodeId }, caller)).state).toBe('lost'),
      { timeoutMs: 5000 },
    );

    beat(seq++);
    await expectEventually(
      async () => expect((await rpc.call(GetNode, { nodeId: agent.nodeId }, caller)).state).toBe('ready'),
      { timeoutMs: 5000 },
    );

    await rpc.call(LeaveNode, { nodeId: agent.nodeId, credential: agent.credential, reason: 'test' }, caller);
    await expectEventually(async () =>
      expect((await rpc.call(GetNode, { nodeId: agent.nodeId }, caller)).state).toBe('left'),
    );
    await new Promise((r) => setTimeout(r, LOST_AFTER_MS * 2));
    expect((await rpc.call(GetNode, { nodeId: agent.nodeId }, caller)).state).toBe('left');

    const back = await rpc.call(
      RejoinNode,
      { nodeId: agent.nodeId, credential: agent.credential, ...facts },
      caller,
    );
    expect(back.clusterId).toBe(cluster.id);
    expect(
      await rejectedCode(
        rpc.call(RejoinNode, { nodeId: agent.nodeId, credential: 'x'.repeat(40), ...facts }, caller),
      ),
    ).toBe('NODE_CREDENTIAL_INVALID');
    expect(
      await rpc.call(AuthenticateNode, { nodeId: agent.nodeId, credential: agent.credential }, caller),
    ).toEqual({
      nodeId: agent.nodeId,
      clusterId: cluster.id,
    });
    expect(
      await rejectedCode(
        rpc.call(AuthenticateNode, { nodeId: agent.nodeId, credential: 'x'.repeat(40) }, caller),
      ),
    ).toBe('NODE_CREDENTIAL_INVALID');
  });

  it('sets labels and scheduling, and rejects unknown nodes and bad input', async () => {
    const { token } = await clusterWithToken('epsilon');
    const agent = newAgent();
    await rpc.call(JoinNode, { token, ...agent, name: 'e1', ...facts }, caller);
    expect(
      await rpc.call(SetNodeLabels, { nodeId: agent.nodeId, labels: { gpu: 'a100' } }, caller),
    ).toMatchObject({ labels: { gpu: 'a100' } });
    expect(
      await rpc.call(ChangeNodeScheduling, { nodeId: agent.nodeId, action: 'cordon' }, caller),
    ).toMatchObject({ state: 'cordoned' });
    expect(
      await rpc.call(ChangeNodeScheduling, { nodeId: agent.nodeId, action: 'drain' }, caller),
    ).toMatchObject({ state: 'draining' });
    expect(
      await rpc.call(ChangeNodeScheduling, { nodeId: agent.nodeId, action: 'uncordon' }, caller),
    ).toMatchObject({ state: 'ready' });
    await expectEventually(async () =>
      expect(await rpc.call(GetNode, { nodeId: agent.nodeId }, caller)).toMatchObject({
        labels: { gpu: 'a100' },
        scheduling: 'schedulable',
      }),
    );

    expect(
      await rejectedCode(rpc.call(ChangeNodeScheduling, { nodeId: randomUUID(), action: 'cordon' }, caller)),
    ).toBe('NODE_NOT_FOUND');
    expect(
      await rejectedCode(
        rpc.call(SetNodeLabels, { nodeId: agent.nodeId, labels: { 'bad key!': 'x' } }, caller),
      ),
    ).toBe('VALIDATION_FAILED');
    expect(await rejectedCode(rpc.call(GetCluster, { clusterId: randomUUID() }, caller))).toBe(
      'CLUSTER_NOT_FOUND',
    );
    expect(await rejectedCode(rpc.call(CreateCluster, { name: 'Not A DNS Label' }, caller))).toBe(
      'VALIDATION_FAILED',
    );
  });
});
