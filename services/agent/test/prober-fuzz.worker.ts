/**
 * The real NetProber, in a process of its own, under generated hostile targets: real HTTP and TCP servers
 * on 127.0.0.1 that answer, hang, answer garbage or hang up, and closed ports. Property: every check
 * resolves in time with a result, a probe passes exactly when its request reached a server that answered
 * 200, and nothing escapes (an escaping error prints CRASH and exits 70, see worker-process.ts). Prints
 * `RESULT <json>` and exits 0 when the property holds, prints the counterexample and exits 1 otherwise.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { freePort } from '@pier/testing';
import { NetProber } from '../src/infrastructure/net/net.prober';
import { assertProperty, hostileHeaders, hostilePath, weirdPort } from './hostile-input';
import { exitOnEscapedErrors } from './worker-process';

exitOnEscapedErrors();

/** Slack for the event loop on a busy machine, beyond a check's own timeout. */
const SLACK_MS = 1000;
const MARK = 'x-fuzz-run';

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function main(): Promise<void> {
  const reached = new Set<string>();
  const ok = createHttpServer((req, res) => {
    reached.add(String(req.headers[MARK]));
    res.writeHead(200).end('ok');
  });
  const hang = createHttpServer(() => undefined);
  // The test's own sockets: a prober that hangs up makes them fail, which is no finding.
  const quiet = (socket: Socket) => socket.on('error', () => undefined);
  const garbage = createTcpServer((s) => quiet(s).end('HTTP/1.1 banana\r\n\u0000\r\n\r\n'));
  const hangUp = createTcpServer((s) => quiet(s).destroy());
  const servers = {
    ok: await listen(ok),
    hang: await listen(hang),
    garbage: await listen(garbage),
    hangUp: await listen(hangUp),
    closed: await freePort(),
  };
  const prober = new NetProber();
  let run = 0;
  const stats = { http: 0, tcp: 0, passed: 0, sent: 0 };

  const target = fc.oneof(
    { weight: 3, arbitrary: fc.constant({ name: 'ok' as const, port: servers.ok }) },
    {
      weight: 3,
      arbitrary: fc
        .constantFrom(...(Object.keys(servers) as (keyof typeof servers)[]))
        .map((name) => ({ name, port: servers[name] })),
    },
    { weight: 1, arbitrary: weirdPort.map((port) => ({ name: 'weird' as const, port })) },
  );
  // Hostile requests, and enough ordinary ones that the 200 server gets to answer.
  const path = fc.oneof(
    hostilePath,
    fc.webPath().map((p) => `/${p.replace(/^\//, '')}`),
  );
  const headers = fc.oneof(hostileHeaders, fc.constant({}));
  const timeoutMs = fc.integer({ min: 1, max: 80 });

  const httpProperty = fc.asyncProperty(
    target,
    path,
    headers,
    timeoutMs,
    async (to, requestPath, requestHeaders, ms) => {
      const id = String(++run);
      const began = Date.now();
      const result = await prober.http(
        { host: '127.0.0.1', port: to.port, path: requestPath, headers: { ...requestHeaders, [MARK]: id } },
        ms,
      );
      stats.http++;
      if (typeof result.ok !== 'boolean' || typeof result.detail !== 'string')
        throw new Error(`not a result: ${JSON.stringify(result)}`);
      if (Date.now() - began > ms + SLACK_MS)
        throw new Error(`took ${Date.now() - began} ms with a ${ms} ms timeout`);
      if (!result.detail.startsWith('GET http://127.0.0.1:')) throw new Error(`detail: ${result.detail}`);
      // A request that reached the 200 server passes, unless the timeout came first; nothing else passes.
      const arrived = reached.has(id);
      if (arrived) stats.sent++;
      if (result.ok) stats.passed++;
      if (result.ok && !(to.name === 'ok' && arrived))
        throw new Error(`passed without a 200: ${result.detail}`);
      if (!result.ok && to.name === 'ok' && arrived && !/no answer within/.test(result.detail)) {
        throw new Error(`the server answered 200 but the check failed: ${result.detail}`);
      }
    },
  );

  const tcpProperty = fc.asyncProperty(target, timeoutMs, async (to, ms) => {
    const began = Date.now();
    const result = await prober.tcp({ host: '127.0.0.1', port: to.port }, ms);
    stats.tcp++;
    if (Date.now() - began > ms + SLACK_MS)
      throw new Error(`took ${Date.now() - began} ms with a ${ms} ms timeout`);
    // Every server accepts (one that hangs up at once may still pass a check with a tiny timeout, which
    // holds the connection for half of it); a closed port or a number that is no port never passes.
    if (result.ok && (to.name === 'closed' || to.name === 'weird')) {
      throw new Error(`connected to ${to.name}: ${result.detail}`);
    }
    if (!result.detail.startsWith('TCP 127.0.0.1:')) throw new Error(`detail: ${result.detail}`);
  });

  const seed = Number(process.env.FUZZ_SEED ?? Date.now());
  const numRuns = Number(process.env.FUZZ_RUNS ?? 1000);
  process.stdout.write('READY\n');
  try {
    await assertProperty(httpProperty, { seed, numRuns });
    await assertProperty(tcpProperty, { seed, numRuns: Math.ceil(numRuns / 3) });
  } catch (error) {
    process.stderr.write(`PROPERTY FAILED (seed ${seed}): ${(error as Error).message}\n`);
    process.exit(1);
  }
  // Timers of checks that already answered would fire now if any were left behind.
  await new Promise((r) => setTimeout(r, 200));
  process.stdout.write(`RESULT ${JSON.stringify({ seed, ...stats })}\n`);
  for (const s of [ok, hang, garbage, hangUp]) {
    if ('closeAllConnections' in s) s.closeAllConnections();
    s.close();
  }
  process.exit(0);
}

void main();
