import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectEventually, NatsServer } from '@pier/testing';
import { type Platform, startAgent, startPlatform } from './platform';

describe('riding out a NATS restart (real processes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pier-nats-'));
  // Of this test's own, so it can be stopped and started again.
  const nats = new NatsServer();
  let platform: Platform;

  beforeAll(async () => {
    await nats.start();
    platform = await startPlatform('natsrestart', { PIER_NATS_URL: nats.url });
  });

  afterAll(async () => {
    await platform?.stop();
    await nats.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps agents, services and projections working after NATS comes back', async () => {
    const admin = await platform.login(platform.admin.email, platform.admin.password);
    const cluster = await platform.call<{ id: string }>(admin, 'POST', '/clusters', { name: 'restart' });
    const token = await platform.call<{ token: string }>(
      admin,
      'POST',
      `/clusters/${cluster.body.id}/join-tokens`,
      {},
    );
    startAgent(platform, 'survivor', join(dir, 'agent'), token.body.token);
    type Node = { id: string; state: string; scheduling: string; lastSeenAt: string | null };
    const node = async () => (await platform.call<{ items: Node[] }>(admin, 'GET', `/nodes`)).body.items[0];
    await expectEventually(async () => expect((await node())?.state).toBe('ready'), { timeoutMs: 30_000 });
    const nodeId = (await node())!.id;

    await nats.stop();
    const down = await platform.call<{ error: { code: string } }>(admin, 'GET', `/nodes/${nodeId}`);
    expect(down.status).toBeGreaterThanOrEqual(500);
    expect(['SERVICE_UNAVAILABLE', 'DEADLINE_EXCEEDED']).toContain(down.body.error.code);
    await nats.start();

    await expectEventually(async () => expect((await node())?.state).toBe('ready'), {
      timeoutMs: 30_000,
      what: 'node ready after the restart',
    });
    const seenBefore = Date.parse((await node())!.lastSeenAt!);
    await expectEventually(
      async () => expect(Date.parse((await node())!.lastSeenAt!)).toBeGreaterThan(seenBefore),
      {
        what: 'heartbeats flowing again',
      },
    );
    // Commands, events and the projection consumer all work again.
    expect((await platform.call(admin, 'POST', `/nodes/${nodeId}/cordon`)).status).toBe(200);
    await expectEventually(async () => expect((await node())?.scheduling).toBe('cordoned'), {
      what: 'projection after the restart',
    });
    for (const p of platform.processes) expect(p.child.exitCode).toBeNull();
  });
});
