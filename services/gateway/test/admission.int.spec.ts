import { type NatsConnection } from '@nats-io/transport-node';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { listen } from '@pier/nest';
import { createLogger } from '@pier/observability';
import { connectTestNats, httpJson, uniqueName } from '@pier/testing';
import { createGatewayApp, gatewayConfigSchema } from '../src';

type ErrorReply = { error: { code: string; message: string; details?: Record<string, unknown> } };

/**
 * Admission control against real NATS, with a service that has hung: it takes every call and answers
 * none (a subscription on the prefix's RPC subjects), so each admitted call holds its slot until the
 * gateway's deadline.
 */
describe('gateway admission control (real NATS, a hung service)', () => {
  let app: NestFastifyApplication;
  let nc: NatsConnection;
  let base: string;

  beforeAll(async () => {
    const prefix = uniqueName('admission');
    nc = await connectTestNats('hung-service');
    nc.subscribe(`${prefix}.rpc.>`, { callback: () => undefined });
    await nc.flush();
    const config = gatewayConfigSchema.parse({
      PIER_PREFIX: prefix,
      PIER_RPC_TIMEOUT_MS: '1500',
      PIER_API_MAX_CONCURRENT_WRITES: '2',
      PIER_API_MAX_CONCURRENT_READS: '8',
      PIER_API_ADMISSION_WAIT_MS: '20',
      PIER_API_EVENT_LOOP_DELAY_TARGET_MS: '50',
    });
    app = await createGatewayApp(config, createLogger('gateway', 'silent'));
    base = `http://127.0.0.1:${await listen(app, 0)}`;
  });

  afterAll(async () => {
    await app.close();
    await nc.close();
  });

  it('refuses writes beyond the limit at once with 503 API_OVERLOADED and Retry-After, and still reads', async () => {
    const login = () =>
      httpJson<ErrorReply>('POST', `${base}/api/v1/auth/login`, { email: 'a@b.example', password: 'x' });
    const holding = [login(), login()];
    await new Promise((r) => setTimeout(r, 200)); // both are waiting on the hung service
    const started = performance.now();
    const refused = await login();
    const refusedAfterMs = performance.now() - started;
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('API_OVERLOADED');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('x-request-id')).toBeTruthy();
    expect(refusedAfterMs).toBeLessThan(750); // its 20 ms wait (and a busy machine's), not the 1.5 s deadline
    // Reads are limited apart: the writes holding every write slot do not keep them out.
    const read = await httpJson('GET', `${base}/api/v1/openapi.json`);
    expect(read.status).toBe(200);
    // The two admitted calls ran to the deadline; their slots are free again afterwards.
    expect((await Promise.all(holding)).map((r) => r.body.error.code)).toEqual([
      'DEADLINE_EXCEEDED',
      'DEADLINE_EXCEEDED',
    ]);
    const after = await login();
    expect(after.body.error.code).toBe('DEADLINE_EXCEEDED');
  });

  it('shrinks a limit that holds calls back while its event loop runs late', async () => {
    const read = () => httpJson('GET', `${base}/api/v1/clusters`, undefined, { authorization: 'Bearer x' });
    const limitOf = async () =>
      Number(
        /pier_api_admission_limit\{[^}]*class="read"[^}]*\} (\d+)/.exec(
          (await httpJson<string>('GET', `${base}/metrics`)).body,
        )?.[1],
      );
    expect(await limitOf()).toBe(8);
    // Eight reads wait on the hung auth service (authorization), a ninth is refused: the limit holds.
    const holding = Array.from({ length: 8 }, read);
    await new Promise((r) => setTimeout(r, 200));
    // The limiter looks at the loop every 250 ms and counts a refusal in the period since its last look:
    // should that look fall between the refusal and the block (a busy machine), the block's period holds
    // no refusal. Two tries (the held reads end at their 1.5 s deadline), each a refusal right before the
    // event loop runs late by 300 ms.
    for (let attempt = 1; attempt <= 2 && (await limitOf()) === 8; attempt++) {
      expect((await read()).status).toBe(503);
      const blockedUntil = Date.now() + 300;
      while (Date.now() < blockedUntil); // the event loop is late by 300 ms
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(await limitOf()).toBe(6);
    await Promise.all(holding);
  });

  it('counts the refusals and shows the limits in its metrics', async () => {
    const { body } = await httpJson<string>('GET', `${base}/metrics`);
    expect(body).toMatch(
      /pier_api_admission_refused_total\{[^}]*class="write",reason="queue-(full|wait)"[^}]*\} 1/,
    );
    expect(body).toMatch(/pier_api_admission_limit\{[^}]*class="write"[^}]*\} 2/);
    expect(body).toMatch(/pier_api_admission_active\{[^}]*class="write"[^}]*\} 0/);
  });
});
