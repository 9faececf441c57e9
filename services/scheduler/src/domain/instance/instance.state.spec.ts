import { randomUUID } from 'node:crypto';
import {
  createMessage,
  type InstanceEvent,
  InstancePlaced,
  InstanceReady,
  InstanceRequested,
  InstanceStarted,
} from '@pier/contracts';
import { evolveInstance, type InstanceState } from './instance.state';

const instanceId = randomUUID();
const nodeId = randomUUID();
const cause = () => {
  const id = randomUUID();
  return { messageId: id, correlationId: id, actor: { kind: 'service' as const, id: 'test' } };
};
const at = '2026-12-07T09:00:00.000Z';
const requested = createMessage(
  InstanceRequested,
  { instanceId, space: 'acme', app: 'web', version: 1, clusterId: randomUUID(), replaces: null },
  cause(),
  at,
);
const placed = (node: string) => createMessage(InstancePlaced, { instanceId, nodeId: node }, cause(), at);
const started = createMessage(
  InstanceStarted,
  { instanceId, containerId: 'c1', host: '127.0.0.1', hostPorts: [], restarts: 0 },
  cause(),
  at,
);
const ready = createMessage(InstanceReady, { instanceId }, cause(), at);

const fold = (events: unknown[]): InstanceState | null =>
  events.reduce<InstanceState | null>((state, e) => evolveInstance(state, e as InstanceEvent), null);

describe('instance state', () => {
  it('is starting once placed, ready once its agent says so', () => {
    expect(fold([requested, placed(nodeId)])).toMatchObject({ phase: 'starting', nodeId });
    expect(fold([requested, placed(nodeId), started, ready])).toMatchObject({ phase: 'ready', nodeId });
  });

  it('stays ready when its placement is recorded only after the agent started it', () => {
    // The scheduler appends the node's assignment, then the placement: an outage between the two appends
    // delays the placement until the agent has started the instance and found it ready.
    expect(fold([requested, started, ready, placed(nodeId)])).toMatchObject({ phase: 'ready', nodeId });
    // A repeated placement on the same node after the start says nothing new either.
    expect(fold([requested, placed(nodeId), started, ready, placed(nodeId)])).toMatchObject({
      phase: 'ready',
      nodeId,
    });
  });
});
