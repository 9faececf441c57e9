import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { NetProber } from '../src/infrastructure/net/net.prober';

/**
 * What Node's HTTP client refuses to send, or a socket refuses to connect to, is a failed check with the
 * reason — it used to throw before the request existed, and the probe's timer then threw again where
 * nothing caught it, ending the agent (issue 9, finding 1).
 */
describe('NetProber: targets it cannot reach are failed checks', () => {
  const prober = new NetProber();
  let server: Server;
  let port: number;
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.url!);
      res.writeHead(200).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  /** Runs the check, then outlives its timeout, so a timer left behind fires while the test still runs. */
  async function check(target: { path: string; headers?: Record<string, string>; port?: number }) {
    const result = await prober.http({ host: '127.0.0.1', port, ...target }, 100);
    await new Promise((r) => setTimeout(r, 300));
    return result;
  }

  it.each([
    ['a path with a space', { path: '/a b' }, 'not sent: Request path contains unescaped characters'],
    [
      'a path with an unpaired surrogate',
      { path: '/\ud800' },
      'not sent: Request path contains unescaped characters',
    ],
    [
      'a header value with CR/LF',
      { path: '/', headers: { 'x-a': 'a\r\nInjected: yes' } },
      'not sent: Invalid character in header content ["x-a"]',
    ],
    [
      'a header value with NUL',
      { path: '/', headers: { 'x-a': '\u0000' } },
      'not sent: Invalid character in header content ["x-a"]',
    ],
    [
      'a header name that is no token',
      { path: '/', headers: { 'x a': '1' } },
      'not sent: Header name must be a valid HTTP token ["x a"]',
    ],
  ])('%s', async (_what, target, reason) => {
    expect(await check(target)).toEqual({
      ok: false,
      detail: `GET http://127.0.0.1:${port}${target.path}: ${reason}`,
    });
    expect(seen).toEqual([]);
  });

  it.each([70_000, -1, 1.5, Number.NaN])('port %p, over HTTP and TCP', async (bad) => {
    expect(await check({ path: '/', port: bad })).toEqual({
      ok: false,
      detail: `GET http://127.0.0.1:${bad}/: port ${bad} is not a TCP port`,
    });
    expect(await prober.tcp({ host: '127.0.0.1', port: bad }, 100)).toEqual({
      ok: false,
      detail: `TCP 127.0.0.1:${bad}: port ${bad} is not a TCP port`,
    });
  });

  it('still sends what Node can send (percent-encoded bytes, a tab in a header)', async () => {
    expect(await check({ path: '/caf%C3%A9?q=a%20b', headers: { 'x-a': 'a\tb' } })).toMatchObject({
      ok: true,
    });
    expect(seen).toEqual(['/caf%C3%A9?q=a%20b']);
  });
});
