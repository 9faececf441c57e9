import { randomUUID } from 'node:crypto';
import { type NatsConnection } from '@nats-io/transport-node';
import { defineRpc, subjectsFor } from '@pier/contracts';
import { createLogger } from '@pier/observability';
import { connectTestNats, uniqueName } from '@pier/testing';
import { z } from 'zod';
import { RpcClient, RpcServer } from '../src';

const Store = defineRpc({
  service: 'store',
  name: 'store',
  kind: 'command',
  request: z.object({ name: z.string(), env: z.record(z.string(), z.string()).default({}) }),
  response: z.object({ stored: z.boolean() }),
});

const context = () => ({ actor: { kind: 'system' as const, id: 'test' }, correlationId: randomUUID() });

/** The RPC server refuses what no projection could store, whoever the caller (defense behind the gateway). */
describe('RPC request screening (real NATS)', () => {
  let nc: NatsConnection;
  let server: RpcServer;
  let client: RpcClient;
  const handled: unknown[] = [];

  beforeAll(async () => {
    nc = await connectTestNats();
    const subjects = subjectsFor(uniqueName('rpcinput'));
    server = new RpcServer(nc, subjects, 'store', createLogger('test', 'silent'));
    server.handle(Store, async (request) => {
      handled.push(request);
      return { stored: true };
    });
    await nc.flush();
    client = new RpcClient(nc, subjects, 2000);
  });
  afterAll(async () => {
    await server.close();
    await nc.close();
  });

  it.each([
    ['a NUL in a value', { name: 'a\u0000b' }, 'name', 'NUL character'],
    ['a NUL in a record key', { name: 'ok', env: { 'K\u0000': 'v' } }, 'env."K\\u0000"', 'NUL character'],
    ['a lone surrogate', { name: 'ok', env: { K: '\ud800' } }, 'env.K', 'unpaired surrogate'],
  ])('refuses %s before the handler runs', async (_what, request, path, problem) => {
    await expect(client.call(Store, request, context())).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { path, problem },
    });
    expect(handled).toEqual([]);
  });

  it('still serves well-formed requests, emoji included', async () => {
    await expect(client.call(Store, { name: 'ship 🚢', env: { A: 'b' } }, context())).resolves.toEqual({
      stored: true,
    });
    expect(handled).toEqual([{ name: 'ship 🚢', env: { A: 'b' } }]);
  });
});
