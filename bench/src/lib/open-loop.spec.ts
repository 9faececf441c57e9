import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorCode, failureCause, OpenLoad } from './open-loop';

/** A server answering after `delayMs`, or never when `delayMs` is Infinity. */
async function server(delayMs: number): Promise<{ port: number; close: () => Promise<void> }> {
  const s: Server = createServer((_req, res) => {
    if (Number.isFinite(delayMs)) setTimeout(() => res.end('v1 here'), delayMs);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: (s.address() as AddressInfo).port,
    close: () =>
      new Promise((r) => {
        s.close(() => r());
        s.closeAllConnections();
      }),
  };
}

describe('OpenLoad', () => {
  it('keeps the client’s wait for a socket apart from the server’s time, and drains', async () => {
    const s = await server(40);
    // One socket, 50 requests/s to a server taking 40 ms: requests queue in the client, not the server.
    const load = new OpenLoad({ port: s.port, host: 'x', path: '/' }, { maxSockets: 1 });
    load.start('a', 50);
    await new Promise((r) => setTimeout(r, 400));
    await load.drain();
    expect(load.inFlight).toBe(0);
    const records = load.byPhase('a');
    expect(records.length).toBeGreaterThanOrEqual(15);
    expect(records.every((r) => r.status === 200 && r.body === 'v1 here')).toBe(true);
    // Each answer took the server its 40 ms; the queue shows up as socket wait, growing request by request.
    expect(Math.min(...records.map((r) => r.serverMs))).toBeGreaterThanOrEqual(39);
    const last = records[records.length - 1]!;
    // ~20 requests of 40 ms each, offered over 400 ms: the last waited for the ~10 before it to finish.
    const median = [...records.map((r) => r.serverMs)].sort((a, b) => a - b)[records.length >> 1]!;
    expect(last.socketWaitMs).toBeGreaterThan(4 * median);
    expect(last.socketWaitMs).toBeGreaterThan(records[0]!.socketWaitMs);
    expect(last.totalMs).toBeGreaterThanOrEqual(last.socketWaitMs + last.serverMs);
    await load.close();
    await s.close();
  });

  it('fails a request without an answer as a timeout, saying what it waited for', async () => {
    const s = await server(Number.POSITIVE_INFINITY);
    const load = new OpenLoad({ port: s.port, host: 'x', path: '/' }, { maxSockets: 1, timeoutMs: 300 });
    // The first request takes the only socket; the event loop is then held for 10 ms, so the next tick
    // sends ten at once: they time out together, most of them still queued for the socket.
    load.start('b', 1000);
    const until = performance.now() + 10;
    while (performance.now() < until);
    await new Promise((r) => setTimeout(r, 6));
    load.pause();
    await load.drain();
    const causes = load.byPhase('b').map(failureCause);
    expect(causes.length).toBeGreaterThanOrEqual(5);
    expect(causes[0]).toBe('timeout waiting for the answer');
    expect(causes).toContain('timeout waiting for a socket');
    expect(causes.every((c) => /^timeout waiting for (the answer|a socket)$/.test(c))).toBe(true);
    await load.close();
    await s.close();
  });
});

describe('failureCause', () => {
  it('names Pier’s error code, another body, or the connection error', () => {
    const noReady =
      '{"error":{"code":"NO_READY_INSTANCE","message":"no instance of app a in space b is ready"';
    expect(errorCode(noReady)).toBe('NO_READY_INSTANCE');
    expect(failureCause({ status: 503, body: noReady })).toBe('HTTP 503 NO_READY_INSTANCE');
    expect(failureCause({ status: 502, body: '<html>bad gateway</html>' })).toBe(
      'HTTP 502 <html>bad gateway</html>',
    );
    expect(failureCause({ status: 503, body: '' })).toBe('HTTP 503 (empty body)');
    expect(failureCause({ status: 0, body: '', error: 'ECONNRESET' })).toBe('connection error ECONNRESET');
    expect(failureCause({ status: 200, body: 'v1' })).toBe('');
  });
});
