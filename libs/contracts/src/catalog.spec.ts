import { z } from 'zod';
import { versionSpecSchema } from './app-spec';
import { MessageCatalog } from './catalog';
import { defineMessage, MessageParseError } from './message';
import { pierEvents } from './events/catalog';

const metadata = (schemaVersion: number) => ({
  messageId: 'm-1',
  correlationId: 'c-1',
  causationId: 'c-1',
  occurredAt: '2026-01-01T00:00:00.000Z',
  actor: { kind: 'user', id: 'u-1' },
  schemaVersion,
});

describe('MessageCatalog upcasting', () => {
  // Version 1 stored memory in bytes; version 2 in MiB and added a zone; version 3 renamed `cpus`.
  const CapacityReported = defineMessage(
    'CapacityReported',
    z.object({ cpuMillicores: z.number().int(), memoryMiB: z.number().int(), zone: z.string() }),
    {
      schemaVersion: 3,
      upcasters: {
        1: (d) => {
          const v1 = d as { cpus: number; memoryBytes: number };
          return { cpus: v1.cpus, memoryMiB: Math.floor(v1.memoryBytes / 1048576), zone: 'default' };
        },
        2: (d) => {
          const { cpus, ...rest } = d as { cpus: number; memoryMiB: number; zone: string };
          return { ...rest, cpuMillicores: cpus * 1000 };
        },
      },
    },
  );
  const catalog = new MessageCatalog([CapacityReported]);

  it('reads a serialised v1 payload as the current version', () => {
    const stored = JSON.parse(
      `{"type":"CapacityReported","data":{"cpus":2,"memoryBytes":4294967296},"metadata":${JSON.stringify(metadata(1))}}`,
    );
    expect(catalog.parse(stored)).toEqual({
      type: 'CapacityReported',
      data: { cpuMillicores: 2000, memoryMiB: 4096, zone: 'default' },
      metadata: { ...metadata(1), schemaVersion: 3 },
    });
  });

  it('reads a v2 payload through the remaining upcaster only', () => {
    const stored = {
      type: 'CapacityReported',
      data: { cpus: 1, memoryMiB: 512, zone: 'a' },
      metadata: metadata(2),
    };
    expect(catalog.parse(stored).data).toEqual({ cpuMillicores: 1000, memoryMiB: 512, zone: 'a' });
  });

  it('refuses a version newer than it knows, an unknown type and invalid data', () => {
    const current = { cpuMillicores: 1, memoryMiB: 1, zone: 'z' };
    expect(() => catalog.parse({ type: 'CapacityReported', data: current, metadata: metadata(4) })).toThrow(
      MessageParseError,
    );
    expect(() => catalog.parse({ type: 'Nope', data: {}, metadata: metadata(1) })).toThrow(
      /unknown message type/,
    );
    expect(() =>
      catalog.parse({ type: 'CapacityReported', data: { zone: 1 }, metadata: metadata(3) }),
    ).toThrow(/invalid/);
  });

  it('requires an upcaster for every older version', () => {
    expect(() => defineMessage('Broken', z.object({}), { schemaVersion: 2 })).toThrow(
      /missing upcaster from version 1/,
    );
  });

  it('stamps the current version when serialising and validates the data', () => {
    const bytes = catalog.serialize({
      type: 'CapacityReported',
      data: { cpuMillicores: 1, memoryMiB: 2, zone: 'z' },
      metadata: metadata(1) as never,
    } as never);
    expect(JSON.parse(new TextDecoder().decode(bytes)).metadata.schemaVersion).toBe(3);
    expect(() =>
      catalog.serialize({ type: 'CapacityReported', data: { zone: 1 }, metadata: metadata(3) } as never),
    ).toThrow();
  });
});

describe('pierEvents', () => {
  it('round-trips a stored NodeLost event', () => {
    const event = {
      type: 'NodeLost' as const,
      data: { nodeId: '6f1c7c56-4a2c-4b7e-9b43-0a0e6d7f1a10', lastSeenAt: null, silentForMs: 3100 },
      metadata: { ...metadata(1), actor: { kind: 'service' as const, id: 'clusters' } },
    };
    expect(pierEvents.parse(JSON.parse(new TextDecoder().decode(pierEvents.serialize(event))))).toEqual(
      event,
    );
  });

  it('round-trips a recorded scheduler plan with every kind of action, and refuses an unknown kind', () => {
    const id = '6f1c7c56-4a2c-4b7e-9b43-0a0e6d7f1a10';
    const event = {
      type: 'SchedulerPlanRecorded' as const,
      data: {
        holder: 'host/1/abcd',
        term: 3,
        actions: [
          {
            kind: 'request',
            instanceId: id,
            space: 'acme',
            app: 'web',
            version: 1,
            clusterId: id,
            replaces: null,
          },
          { kind: 'place', instanceId: id, nodeId: id },
          { kind: 'unschedulable', instanceId: id, reason: '0/0 nodes: the cluster has no nodes' },
          { kind: 'stop', instanceId: id, reason: 'scale-down' },
          { kind: 'complete-deletion', space: 'acme', app: 'web' },
        ],
      },
      metadata: { ...metadata(1), actor: { kind: 'service' as const, id: 'scheduler' } },
    };
    expect(
      pierEvents.parse(JSON.parse(new TextDecoder().decode(pierEvents.serialize(event as never)))),
    ).toEqual(event);
    const unknownKind = { ...event, data: { ...event.data, actions: [{ kind: 'migrate', instanceId: id }] } };
    expect(() => pierEvents.parse(unknownKind)).toThrow(MessageParseError);
  });

  describe('the probe on readiness and health transitions', () => {
    const instanceId = '6f1c7c56-4a2c-4b7e-9b43-0a0e6d7f1a10';
    const stored = (type: string, data: object) =>
      JSON.parse(
        `{"type":"${type}","data":${JSON.stringify(data)},"metadata":${JSON.stringify(metadata(1))}}`,
      );

    it('reads events stored before agents reported it, without a probe', () => {
      const exited = { instanceId, exitCode: 3, oomKilled: false, reason: 'exited', restartInMs: 200 };
      expect(pierEvents.parse(stored('InstanceReady', { instanceId })).data).toEqual({ instanceId });
      expect(pierEvents.parse(stored('InstanceNotReady', { instanceId, reason: 'x' })).data).toEqual({
        instanceId,
        reason: 'x',
      });
      expect(pierEvents.parse(stored('InstanceExited', exited)).data).toEqual(exited);
    });

    it('reads the probe when there is one, and refuses a malformed one', () => {
      const probe = { kind: 'liveness', ok: false, detail: 'GET http://127.0.0.1:1/x: HTTP 500' };
      expect(pierEvents.parse(stored('InstanceNotReady', { instanceId, reason: 'x', probe })).data).toEqual({
        instanceId,
        reason: 'x',
        probe,
      });
      expect(() =>
        pierEvents.parse(stored('InstanceReady', { instanceId, probe: { ...probe, kind: 'other' } })),
      ).toThrow(/invalid/);
      expect(() =>
        pierEvents.parse(
          stored('InstanceReady', { instanceId, probe: { ...probe, detail: 'x'.repeat(1001) } }),
        ),
      ).toThrow(/invalid/);
    });
  });
});

describe('stored version specs', () => {
  // Stored before the API checked probe paths and header values: the agent refuses to run it, but the
  // event must still read, or the app's history (and every later version) would not.
  const stored = JSON.parse(
    `{"type":"VersionCreated","data":{"space":"acme","app":"web","version":1,"spec":{"image":"pier/busybox:latest",` +
      `"env":{},"secretEnv":{},"ports":[{"containerPort":8080,"protocol":"http"}],"resources":{"cpu":250,"memory":256},` +
      `"probes":{"readiness":{"http":{"path":"/a b","port":8080,"headers":{"X-A":"1\\r\\n2"}},"initialDelaySeconds":0,` +
      `"periodSeconds":10,"timeoutSeconds":1,"successThreshold":1,"failureThreshold":3}},` +
      `"stop":{"gracePeriodSeconds":30},"placement":{"constraints":[]}}},"metadata":${JSON.stringify(metadata(1))}}`,
  );

  it('reads a version created before the precise rules, as it was stored', () => {
    const event = pierEvents.parse(stored);
    expect(event.type).toBe('VersionCreated');
    expect(event.data).toMatchObject({ spec: { probes: { readiness: { http: { path: '/a b' } } } } });
  });

  it('while the API refuses such a spec today', () => {
    expect(versionSpecSchema.safeParse(stored.data.spec).success).toBe(false);
  });
});
