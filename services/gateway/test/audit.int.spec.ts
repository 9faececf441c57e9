import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type NatsConnection } from '@nats-io/transport-node';
import {
  AUDIT,
  type AuditRecorded,
  type PierEvent,
  pierEvents,
  PLATFORM_AUDIT_ID,
  subjectsFor,
} from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { listen } from '@pier/nest';
import { createLogger } from '@pier/observability';
import { connectTestNats, deleteStreams, expectEventually, httpJson, uniqueName } from '@pier/testing';
import { createGatewayApp, gatewayConfigSchema } from '../src';

/**
 * Audit records of refused requests, against real NATS and JetStream with no auth service behind the
 * gateway: every request here is anonymous, so it is refused before anything could act.
 */
describe('gateway audit of refused requests (real NATS)', () => {
  const prefix = uniqueName('gateway-audit');
  let app: NestFastifyApplication;
  let base: string;
  let nc: NatsConnection;
  let store: EventStore<PierEvent>;

  beforeAll(async () => {
    const config = gatewayConfigSchema.parse({
      PIER_PREFIX: prefix,
      PIER_RPC_TIMEOUT_MS: '1000',
      PIER_AUDIT_REFUSED_BURST: '5',
      PIER_AUDIT_REFUSED_PER_MINUTE: '60',
    });
    app = await createGatewayApp(config, createLogger('gateway', 'silent'));
    base = `http://127.0.0.1:${await listen(app, 0)}`;
    nc = await connectTestNats();
    store = await EventStore.open(nc, subjectsFor(prefix), pierEvents);
  });

  afterAll(async () => {
    await app.close();
    await deleteStreams(nc, prefix);
    await nc.close();
  });

  const records = async (id: string) =>
    (await store.load(AUDIT, id)).events.map((e) => e.event as AuditRecorded);

  it('never writes an anonymous request into the log of the space it names, existing or not', async () => {
    const reply = await httpJson('DELETE', `${base}/api/v1/spaces/nobody`);
    expect(reply.status).toBe(401);
    expect(await records('nobody')).toEqual([]);
    const platform = await records(PLATFORM_AUDIT_ID);
    expect(platform).toContainEqual(
      expect.objectContaining({
        data: expect.objectContaining({
          action: 'deleteSpace',
          space: null,
          target: { space: 'nobody' },
          status: 401,
          outcome: 'denied',
          errorCode: 'UNAUTHENTICATED',
        }),
      }),
    );
  });

  it('limits a flood of refused requests per address, counting and summing up what it drops', async () => {
    const before = (await records(PLATFORM_AUDIT_ID)).length;
    const droppedBefore = await droppedMetric();
    const sent = 40;
    for (let i = 0; i < sent; i++) {
      const reply = await httpJson('POST', `${base}/api/v1/spaces/flood-${i}/secrets`, { name: 'x' });
      expect(reply.status).toBe(401);
    }
    const since = async () => (await records(PLATFORM_AUDIT_ID)).slice(before);
    const written = (await since()).filter((r) => r.data.action === 'createSecret').length;
    expect(written).toBeLessThan(15); // a burst of 5, then one a second
    // Each refused request is either written or counted as dropped.
    expect(written + (await droppedMetric()) - droppedBefore).toBe(sent);

    // A record the address may write later comes with the summary of the ones dropped before it.
    const summed = async () =>
      (await since())
        .filter((r) => r.data.action === 'auditRecordsDropped')
        .reduce((n, r) => n + Number(r.data.target.dropped), 0);
    await expectEventually(
      async () => {
        await httpJson('POST', `${base}/api/v1/spaces/later/secrets`, { name: 'x' });
        expect(await summed()).toBe((await droppedMetric()) - droppedBefore);
      },
      { timeoutMs: 10_000, intervalMs: 250, what: 'summaries of every dropped record' },
    );
    const summary = (await since()).find((r) => r.data.action === 'auditRecordsDropped')!;
    expect(summary.data).toMatchObject({
      space: null,
      outcome: 'denied',
      errorCode: 'RATE_LIMITED',
      ip: '127.0.0.1',
    });
    expect(summary.metadata.actor).toEqual({ kind: 'service', id: 'gateway' });
  });

  it('stores a refused request whose parameters Postgres could not hold, escaped', async () => {
    // Last in the file: the flood before it emptied this address's bucket, which refills once a second.
    await expectEventually(
      async () => {
        const reply = await httpJson('DELETE', `${base}/api/v1/spaces/nul%00here`);
        expect(reply.status).toBe(400);
        const platform = await records(PLATFORM_AUDIT_ID);
        const record = platform.find((r) => r.data.target.space?.startsWith('nul'));
        // Escaped (a backslash and "u0000"), never the NUL itself that Postgres refuses.
        expect(record?.data.target).toEqual({ space: 'nul\\u0000here' });
      },
      { timeoutMs: 15_000, intervalMs: 1000, what: 'the refused request recorded' },
    );
  });

  async function droppedMetric(): Promise<number> {
    const text = await (await fetch(`${base}/metrics`)).text();
    const line = /^pier_audit_refused_dropped_total\{[^}]*\} (\d+)/m.exec(text);
    return line ? Number(line[1]) : 0;
  }
});
