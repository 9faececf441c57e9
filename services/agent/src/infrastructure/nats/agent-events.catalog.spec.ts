import {
  createMessage,
  InstanceAssigned,
  InstancesAssigned,
  InstanceStarted,
  MessageParseError,
  type PierEvent,
  pierEvents,
} from '@pier/contracts';
import { AgentEventCatalog } from './agent-events.catalog';

const cause = {
  messageId: 'm-1',
  correlationId: 'c-1',
  actor: { kind: 'service' as const, id: 'scheduler' },
};
const at = '2026-01-01T00:00:00.000Z';
/** An assignment whose spec no rule, old or new, reads: a probe port that is no port. */
const oldAssignment = createMessage(
  InstanceAssigned,
  {
    nodeId: '0b0e8d4e-8f8a-4c35-9d5f-2a4b8f4c8a01',
    instanceId: '6f1d3f2e-2f43-4f5c-8a2a-0d3c9b1e7a11',
    space: 'acme',
    app: 'web',
    version: 1,
    spec: {
      image: 'pier/busybox:latest',
      probes: { readiness: { http: { path: '/a b', port: 70_000 } } },
    } as never,
  },
  cause,
  at,
);
/** As it travels and is stored: JSON. */
const wire = (event: unknown): unknown => JSON.parse(JSON.stringify(event));

describe('AgentEventCatalog', () => {
  it('reads an assignment whose spec no schema accepts, which pierEvents cannot read', () => {
    expect(() => pierEvents.parse(wire(oldAssignment))).toThrow(MessageParseError);
    const read = new AgentEventCatalog().parse(wire(oldAssignment));
    expect(read).toMatchObject({
      type: 'InstanceAssigned',
      data: { spec: { probes: { readiness: { http: { path: '/a b' } } } } },
    });
  });

  it("reads such an assignment in a node's batch of assignments too", () => {
    const { nodeId, ...assignment } = oldAssignment.data;
    const batch = createMessage(InstancesAssigned, { nodeId, assignments: [assignment] }, cause, at);
    expect(() => pierEvents.parse(wire(batch))).toThrow(MessageParseError);
    expect(new AgentEventCatalog().parse(wire(batch))).toMatchObject({
      type: 'InstancesAssigned',
      data: { nodeId, assignments: [{ spec: { probes: { readiness: { http: { path: '/a b' } } } } }] },
    });
  });

  it('stores such an assignment (tests write old events with it) and reads back what it wrote', () => {
    const catalog = new AgentEventCatalog();
    const bytes = catalog.serialize(oldAssignment as PierEvent);
    expect(catalog.parse(JSON.parse(new TextDecoder().decode(bytes)))).toMatchObject({
      data: { spec: { image: 'pier/busybox:latest' } },
    });
  });

  it('reads and checks every other event like pierEvents', () => {
    const catalog = new AgentEventCatalog();
    const started = createMessage(
      InstanceStarted,
      {
        instanceId: '6f1d3f2e-2f43-4f5c-8a2a-0d3c9b1e7a11',
        containerId: 'c',
        host: '127.0.0.1',
        hostPorts: [],
        restarts: 0,
      },
      cause,
      at,
    );
    expect(catalog.parse(wire(started))).toEqual(pierEvents.parse(wire(started)));
    expect(() =>
      catalog.serialize({ ...started, data: { ...started.data, restarts: -1 } } as PierEvent),
    ).toThrow(MessageParseError);
    expect(catalog.has('InstanceStarted')).toBe(true);
    expect(catalog.versionOf('InstanceAssigned')).toBe(pierEvents.versionOf('InstanceAssigned'));
  });
});
