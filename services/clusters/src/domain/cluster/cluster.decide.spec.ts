import { type ClusterEvent } from '@pier/contracts';
import { rejectionCode } from '@pier/testing';
import { type CommandContext } from '../clock';
import { createCluster, createJoinToken, revokeJoinToken, useJoinToken } from './cluster.decide';
import { type ClusterState, evolveCluster } from './cluster.state';

const CLUSTER = '11111111-1111-4111-8111-111111111111';
const TOKEN = '22222222-2222-4222-8222-222222222222';
const NODE_A = '33333333-3333-4333-8333-333333333333';
const NODE_B = '44444444-4444-4444-8444-444444444444';
const HASH = 'a'.repeat(64);

const at = (now: string, id = 'cmd'): CommandContext => ({
  cause: { messageId: id, correlationId: id, actor: { kind: 'user', id: 'u' } },
  now,
});
const T0 = '2026-01-01T00:00:00.000Z';

/** Given events, the state they fold into. */
const given = (...events: ClusterEvent[]): ClusterState | null => events.reduce(evolveCluster, null);

const created = createCluster(null, { clusterId: CLUSTER, name: 'prod', description: '' }, at(T0))[0]!;
const token = (maxUses: number | null, ttlSeconds = 3600) =>
  createJoinToken(
    given(created),
    { clusterId: CLUSTER, tokenId: TOKEN, secretSha256: HASH, ttlSeconds, maxUses, description: '' },
    at(T0),
  )[0]!;
const use = (state: ClusterState | null, nodeId: string, now = T0, hash = HASH) =>
  useJoinToken(state, { tokenId: TOKEN, secretSha256: hash, nodeId }, at(now, `use-${nodeId}`));

describe('cluster decisions', () => {
  it('creates a cluster once; the same command again changes nothing', () => {
    expect(created).toMatchObject({ type: 'ClusterCreated', data: { clusterId: CLUSTER, name: 'prod' } });
    expect(
      createCluster(given(created), { clusterId: CLUSTER, name: 'prod', description: '' }, at(T0)),
    ).toEqual([]);
  });

  it('issues a join token that expires after its time to live', () => {
    expect(token(1, 60)).toMatchObject({
      type: 'JoinTokenCreated',
      data: { tokenId: TOKEN, secretSha256: HASH, maxUses: 1, expiresAt: '2026-01-01T00:01:00.000Z' },
    });
  });

  it('refuses tokens for a cluster that does not exist', () => {
    expect(
      rejectionCode(() =>
        createJoinToken(
          null,
          {
            clusterId: CLUSTER,
            tokenId: TOKEN,
            secretSha256: HASH,
            ttlSeconds: 60,
            maxUses: 1,
            description: '',
          },
          at(T0),
        ),
      ),
    ).toBe('CLUSTER_NOT_FOUND');
  });

  describe('using a join token', () => {
    it('spends one use for a new node', () => {
      expect(use(given(created, token(1)), NODE_A)).toMatchObject([
        { type: 'JoinTokenUsed', data: { nodeId: NODE_A } },
      ]);
    });

    it('lets the same node retry without spending another use', () => {
      const state = given(created, token(1), ...use(given(created, token(1)), NODE_A));
      expect(use(state, NODE_A)).toEqual([]);
    });

    it('refuses a second node on a single-use token', () => {
      const state = given(created, token(1), ...use(given(created, token(1)), NODE_A));
      expect(rejectionCode(() => use(state, NODE_B))).toBe('JOIN_TOKEN_EXHAUSTED');
    });

    it('accepts any number of nodes on an unlimited token', () => {
      const state = given(created, token(null), ...use(given(created, token(null)), NODE_A));
      expect(use(state, NODE_B)).toHaveLength(1);
    });

    it('refuses an expired token', () => {
      expect(rejectionCode(() => use(given(created, token(1, 60)), NODE_A, '2026-01-01T00:01:00.000Z'))).toBe(
        'JOIN_TOKEN_EXPIRED',
      );
    });

    it('refuses a revoked token', () => {
      const revoked = revokeJoinToken(
        given(created, token(1)),
        { clusterId: CLUSTER, tokenId: TOKEN },
        at(T0),
      )[0]!;
      expect(rejectionCode(() => use(given(created, token(1), revoked), NODE_A))).toBe('JOIN_TOKEN_REVOKED');
    });

    it('answers a wrong secret exactly like an unknown token', () => {
      expect(rejectionCode(() => use(given(created, token(1)), NODE_A, T0, 'b'.repeat(64)))).toBe(
        'JOIN_TOKEN_INVALID',
      );
      expect(rejectionCode(() => use(given(created), NODE_A))).toBe('JOIN_TOKEN_INVALID');
      expect(rejectionCode(() => use(null, NODE_A))).toBe('JOIN_TOKEN_INVALID');
    });
  });

  it('revokes a token once and refuses unknown tokens', () => {
    const revoked = revokeJoinToken(given(created, token(1)), { clusterId: CLUSTER, tokenId: TOKEN }, at(T0));
    expect(revoked).toMatchObject([{ type: 'JoinTokenRevoked' }]);
    expect(
      revokeJoinToken(given(created, token(1), ...revoked), { clusterId: CLUSTER, tokenId: TOKEN }, at(T0)),
    ).toEqual([]);
    expect(
      rejectionCode(() => revokeJoinToken(given(created), { clusterId: CLUSTER, tokenId: TOKEN }, at(T0))),
    ).toBe('JOIN_TOKEN_NOT_FOUND');
  });
});
