import { type NodeEvent } from '@pier/contracts';
import { rejectionCode } from '@pier/testing';
import { type CommandContext } from '../clock';
import {
  changeScheduling,
  joinNode,
  leaveNode,
  markLost,
  markRecovered,
  rejoinNode,
  setLabels,
} from './node.decide';
import { displayState, evolveNode, type NodeState } from './node.state';

const NODE = '33333333-3333-4333-8333-333333333333';
const CLUSTER = '11111111-1111-4111-8111-111111111111';
const CRED = 'c'.repeat(64);
const ctx: CommandContext = {
  cause: { messageId: 'm', correlationId: 'm', actor: { kind: 'node', id: NODE } },
  now: '2026-01-01T00:00:00.000Z',
};
const facts = {
  hostname: 'host-a',
  capacity: { cpuMillicores: 2000, memoryMiB: 4096 },
  engine: { driver: 'docker', version: '20.10', os: 'Debian', arch: 'x86_64', kernel: '6.1' },
  agentVersion: '0.1.0',
};
const joined = joinNode(
  null,
  {
    ...facts,
    nodeId: NODE,
    clusterId: CLUSTER,
    name: 'a',
    labels: { disk: 'ssd' },
    zone: 'z1',
    joinTokenId: CLUSTER,
    credentialSha256: CRED,
  },
  ctx,
)[0]!;
const given = (...events: NodeEvent[]): NodeState | null => events.reduce(evolveNode, null);

describe('node decisions', () => {
  it('joins as ready and schedulable', () => {
    expect(displayState(given(joined)!)).toBe('ready');
    expect(given(joined)).toMatchObject({
      liveness: 'up',
      scheduling: 'schedulable',
      labels: { disk: 'ssd' },
      zone: 'z1',
    });
  });

  it('treats a repeated join with the same credential as done, and another credential as a conflict', () => {
    const again = { ...(joined.data as never as Parameters<typeof joinNode>[1]) };
    expect(joinNode(given(joined), again, ctx)).toEqual([]);
    expect(
      rejectionCode(() => joinNode(given(joined), { ...again, credentialSha256: 'd'.repeat(64) }, ctx)),
    ).toBe('NODE_ALREADY_JOINED');
  });

  it('rejoins with fresh facts and comes back up, but only with its credential', () => {
    const lost = markLost(given(joined), { nodeId: NODE, lastSeenAt: null, silentForMs: 3500 }, ctx);
    const rejoined = rejoinNode(
      given(joined, ...lost),
      { ...facts, hostname: 'host-b', nodeId: NODE, credentialSha256: CRED },
      ctx,
    );
    expect(given(joined, ...lost, ...rejoined)).toMatchObject({ liveness: 'up', hostname: 'host-b' });
    expect(
      rejectionCode(() =>
        rejoinNode(given(joined), { ...facts, nodeId: NODE, credentialSha256: 'e'.repeat(64) }, ctx),
      ),
    ).toBe('NODE_CREDENTIAL_INVALID');
    expect(
      rejectionCode(() => rejoinNode(null, { ...facts, nodeId: NODE, credentialSha256: CRED }, ctx)),
    ).toBe('NODE_NOT_FOUND');
  });

  it('is lost once and recovered once', () => {
    const lost = markLost(given(joined), { nodeId: NODE, lastSeenAt: null, silentForMs: 3500 }, ctx);
    expect(lost).toMatchObject([{ type: 'NodeLost', data: { silentForMs: 3500 } }]);
    expect(displayState(given(joined, ...lost)!)).toBe('lost');
    expect(
      markLost(given(joined, ...lost), { nodeId: NODE, lastSeenAt: null, silentForMs: 4000 }, ctx),
    ).toEqual([]);
    const recovered = markRecovered(given(joined, ...lost), { nodeId: NODE }, ctx);
    expect(recovered).toMatchObject([{ type: 'NodeRecovered' }]);
    expect(markRecovered(given(joined, ...lost, ...recovered), { nodeId: NODE }, ctx)).toEqual([]);
  });

  it('leaves once; a node that left is neither lost nor rescheduled', () => {
    const left = leaveNode(given(joined), { nodeId: NODE, credentialSha256: CRED, reason: 'SIGTERM' }, ctx);
    expect(displayState(given(joined, ...left)!)).toBe('left');
    expect(
      leaveNode(given(joined, ...left), { nodeId: NODE, credentialSha256: CRED, reason: 'again' }, ctx),
    ).toEqual([]);
    expect(
      markLost(given(joined, ...left), { nodeId: NODE, lastSeenAt: null, silentForMs: 9000 }, ctx),
    ).toEqual([]);
    expect(
      rejectionCode(() => changeScheduling(given(joined, ...left), { nodeId: NODE, action: 'cordon' }, ctx)),
    ).toBe('NODE_HAS_LEFT');
  });

  it('cordons, drains and uncordons; repeating a change is a no-op', () => {
    const cordoned = changeScheduling(given(joined), { nodeId: NODE, action: 'cordon' }, ctx);
    expect(displayState(given(joined, ...cordoned)!)).toBe('cordoned');
    expect(changeScheduling(given(joined, ...cordoned), { nodeId: NODE, action: 'cordon' }, ctx)).toEqual([]);
    const draining = changeScheduling(given(joined, ...cordoned), { nodeId: NODE, action: 'drain' }, ctx);
    expect(displayState(given(joined, ...cordoned, ...draining)!)).toBe('draining');
    const back = changeScheduling(
      given(joined, ...cordoned, ...draining),
      { nodeId: NODE, action: 'uncordon' },
      ctx,
    );
    expect(displayState(given(joined, ...cordoned, ...draining, ...back)!)).toBe('ready');
    expect(changeScheduling(given(joined), { nodeId: NODE, action: 'uncordon' }, ctx)).toEqual([]);
  });

  it('lost wins over scheduling in the displayed state', () => {
    const cordoned = changeScheduling(given(joined), { nodeId: NODE, action: 'cordon' }, ctx);
    const lost = markLost(
      given(joined, ...cordoned),
      { nodeId: NODE, lastSeenAt: null, silentForMs: 3500 },
      ctx,
    );
    expect(displayState(given(joined, ...cordoned, ...lost)!)).toBe('lost');
  });

  it('replaces labels, and setting the same labels changes nothing', () => {
    expect(setLabels(given(joined), { nodeId: NODE, labels: { disk: 'ssd' } }, ctx)).toEqual([]);
    const set = setLabels(given(joined), { nodeId: NODE, labels: { gpu: 'yes' } }, ctx);
    expect(given(joined, ...set)!.labels).toEqual({ gpu: 'yes' });
    expect(rejectionCode(() => setLabels(null, { nodeId: NODE, labels: {} }, ctx))).toBe('NODE_NOT_FOUND');
  });
});
