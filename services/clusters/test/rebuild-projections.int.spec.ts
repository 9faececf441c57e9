import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  ChangeNodeScheduling,
  CreateCluster,
  CreateJoinToken,
  JoinNode,
  LeaveNode,
  RevokeJoinToken,
  SetNodeLabels,
} from '@pier/contracts';
import { type CallContext, type RpcClient } from '@pier/messaging';
import {
  dropSchema,
  expectEventually,
  runRebuild,
  schemaTables,
  tableDifferences,
  testEnv,
  uniqueName,
} from '@pier/testing';
import { type ClustersUnderTest, startClusters } from './support/clusters-under-test';

/** The clusters service as built (`nx run @pier/clusters:build`): the command under test is its `main.js`. */
const CLUSTERS_SCRIPT = join(__dirname, '..', 'dist', 'main.js');

/**
 * `rebuild-projections` of clusters: clusters, join tokens and nodes built through the running service,
 * then the built command replays the stream into a fresh schema while the service keeps running, and
 * every table equals the live one row for row. Real NATS and Postgres.
 */
describe('clusters rebuild-projections (real NATS and Postgres)', () => {
  const prefix = uniqueName('clusters-rebuild');
  const rebuilt = `${prefix}_rebuilt`;
  const caller: CallContext = { actor: { kind: 'user', id: 'tester' }, correlationId: 'test' };
  let url: string;
  let rpc: RpcClient;
  let clusters: ClustersUnderTest;

  beforeAll(async () => {
    // Nodes that never send a heartbeat are not declared lost while the test runs: no event of the
    // service's own arrives between the rebuild and the comparison.
    clusters = await startClusters(prefix, { PIER_NODE_LOST_AFTER_MS: '3600000' });
    ({ url, rpc } = clusters);
  });

  afterAll(async () => {
    await clusters?.stop();
    await dropSchema(url, rebuilt);
  });

  /** Two clusters; a used, a revoked and an unused token; a labelled, drained node and a node that left. */
  async function buildState(): Promise<void> {
    const facts = {
      hostname: 'host',
      capacity: { cpuMillicores: 4000, memoryMiB: 8192 },
      engine: { driver: 'docker', version: '20.10', os: 'Debian', arch: 'x86_64', kernel: '6.1' },
      agentVersion: 'test',
    };
    const cluster = await rpc.call(CreateCluster, { name: 'alpha', description: 'first' }, caller);
    await rpc.call(CreateCluster, { name: 'beta' }, caller);
    const token = await rpc.call(CreateJoinToken, { clusterId: cluster.id, maxUses: 5 }, caller);
    const revoked = await rpc.call(CreateJoinToken, { clusterId: cluster.id }, caller);
    await rpc.call(RevokeJoinToken, { clusterId: cluster.id, tokenId: revoked.id }, caller);
    await rpc.call(CreateJoinToken, { clusterId: cluster.id, maxUses: 1 }, caller);

    const join = async (name: string) => {
      const agent = { nodeId: randomUUID(), credential: randomBytes(32).toString('base64url') };
      await rpc.call(
        JoinNode,
        { token: token.token, ...agent, name, labels: {}, zone: 'z1', ...facts },
        caller,
      );
      return agent;
    };
    const kept = await join('n1');
    const leaving = await join('n2');
    await rpc.call(SetNodeLabels, { nodeId: kept.nodeId, labels: { disk: 'ssd' } }, caller);
    await rpc.call(ChangeNodeScheduling, { nodeId: kept.nodeId, action: 'cordon' }, caller);
    await rpc.call(ChangeNodeScheduling, { nodeId: kept.nodeId, action: 'drain' }, caller);
    await rpc.call(LeaveNode, { ...leaving, reason: 'test' }, caller);
  }

  it('replays the stream into a fresh schema equal to the live read model, table by table', async () => {
    await buildState();
    await runRebuild(CLUSTERS_SCRIPT, {
      PIER_PREFIX: prefix,
      PIER_NATS_URL: testEnv.PIER_TEST_NATS_URL,
      PIER_DATABASE_URL: url,
      PIER_DATABASE_SCHEMA: rebuilt,
      PIER_LOG_LEVEL: 'warn',
    });
    const live = await expectEventually(
      async () => {
        const tables = await schemaTables(url, prefix);
        expect(tableDifferences(tables, await schemaTables(url, rebuilt))).toEqual([]);
        return tables;
      },
      { what: 'the rebuilt clusters read model equal to the live one' },
    );
    expect(Object.keys(live)).toEqual(['clusters', 'join_tokens', 'nodes', 'projection_checkpoints']);
    expect(live.clusters).toHaveLength(2);
    expect(live.join_tokens).toHaveLength(3);
    expect(live.nodes).toHaveLength(2);
  });
});
