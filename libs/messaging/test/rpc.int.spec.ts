import { randomUUID } from 'node:crypto';
import { type NatsConnection } from '@nats-io/transport-node';
import { defineRpc, PierError, subjectsFor } from '@pier/contracts';
import { createLogger } from '@pier/observability';
import { connectTestNats, uniqueName } from '@pier/testing';
import { z } from 'zod';
import { RpcClient, RpcServer } from '../src';

const Echo = defineRpc({
  service: 'echo',
  name: 'echo',
  kind: 'query',
  request: z.object({ text: z.string() }),
  response: z.object({ text: z.string(), by: z.string() }),
});

const context = () => ({ actor: { kind: 'system' as const, id: 'test' }, correlationId: randomUUID() });

describe('RPC over core NATS', () => {
  const subjects = subjectsFor(uniqueName('rpc'));
  const logger = createLogger('test', 'silent');
  let nc: NatsConnection;
  let client: RpcClient;
  const servers: RpcServer[] = [];

  /** A replica named `by`, answering after `delayMs`, failing when `fails`. */
  function replica(by: string, options: { everyReplica: boolean; delayMs?: number; fails?: boolean }) {
    const server = new RpcServer(nc, subjects, 'echo', logger);
    server.handle(
      Echo,
      async ({ text }) => {
        await new Promise((r) => setTimeout(r, options.delayMs ?? 0));
        if (options.fails) throw new PierError('APP_NOT_FOUND', `${by} does not know ${text}`);
        return { text, by };
      },
      { everyReplica: options.everyReplica },
    );
    servers.push(server);
    return server;
  }

  beforeAll(async () => {
    nc = await connectTestNats();
    client = new RpcClient(nc, subjects, 2000);
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(() => nc.close());

  it('answers a call from one replica of a queue group', async () => {
    replica('a', { everyReplica: false });
    replica('b', { everyReplica: false });
    await nc.flush();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => client.call(Echo, { text: 'hi' }, context())),
    );
    expect(answers).toHaveLength(20);
    for (const a of answers) expect(['a', 'b']).toContain(a.by);
  });

  it('gathers the answer of every replica with callAll, errors included', async () => {
    replica('a', { everyReplica: true });
    replica('b', { everyReplica: true, delayMs: 50 });
    replica('c', { everyReplica: true, fails: true });
    await nc.flush();
    const { responses, errors } = await client.callAll(Echo, { text: 'hi' }, { ...context(), stallMs: 300 });
    expect(responses.map((r) => r.by).sort()).toEqual(['a', 'b']);
    expect(errors.map((e) => [e.code, e.message])).toEqual([['APP_NOT_FOUND', 'c does not know hi']]);
  });

  it('stops gathering once no further answer comes within the stall', async () => {
    replica('fast', { everyReplica: true });
    replica('slow', { everyReplica: true, delayMs: 1000 });
    await nc.flush();
    const started = Date.now();
    const { responses } = await client.callAll(Echo, { text: 'hi' }, { ...context(), stallMs: 100 });
    expect(responses.map((r) => r.by)).toEqual(['fast']);
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('says SERVICE_UNAVAILABLE when nothing serves it, and DEADLINE_EXCEEDED when nothing answers', async () => {
    await expect(client.callAll(Echo, { text: 'hi' }, context())).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
    replica('late', { everyReplica: true, delayMs: 1000 });
    await nc.flush();
    await expect(
      client.callAll(Echo, { text: 'hi' }, { ...context(), timeoutMs: 200 }),
    ).rejects.toMatchObject({
      code: 'DEADLINE_EXCEEDED',
    });
  });
});
