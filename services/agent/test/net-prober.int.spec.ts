import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { freePort } from '@pier/testing';
import { NetProber } from '../src/infrastructure/net/net.prober';

/** HTTP and TCP checks against real sockets on 127.0.0.1. */
describe('NetProber', () => {
  const prober = new NetProber();
  const servers: { close(): unknown }[] = [];
  let http: number;

  beforeAll(async () => {
    const server: Server = createHttpServer((req, res) => {
      if (req.url === '/slow') return; // never answers
      const status = Number(req.url!.slice(1)) || 200;
      res.writeHead(status, { location: '/200' }).end(`${status} ${req.headers['x-probe'] ?? ''}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => (server.closeAllConnections(), server.close()) });
    http = (server.address() as AddressInfo).port;
  });
  afterAll(() => servers.forEach((s) => s.close()));

  it('counts statuses in [200, 400) as success, others as failure', async () => {
    const get = (path: string) => prober.http({ host: '127.0.0.1', port: http, path }, 1000);
    expect(await get('/200')).toEqual({ ok: true, detail: `GET http://127.0.0.1:${http}/200: HTTP 200` });
    expect((await get('/302')).ok).toBe(true);
    expect((await get('/399')).ok).toBe(true);
    expect(await get('/400')).toEqual({ ok: false, detail: `GET http://127.0.0.1:${http}/400: HTTP 400` });
    expect((await get('/500')).ok).toBe(false);
  });

  it('fails a check that gets no answer within its timeout', async () => {
    const began = Date.now();
    expect(await prober.http({ host: '127.0.0.1', port: http, path: '/slow' }, 300)).toEqual({
      ok: false,
      detail: `GET http://127.0.0.1:${http}/slow: no answer within 300 ms`,
    });
    expect(Date.now() - began).toBeLessThan(3000);
  });

  it('fails on a refused connection, for HTTP and TCP', async () => {
    const port = await freePort();
    expect(await prober.http({ host: '127.0.0.1', port, path: '/' }, 1000)).toMatchObject({
      ok: false,
      detail: expect.stringContaining('ECONNREFUSED'),
    });
    expect(await prober.tcp({ host: '127.0.0.1', port }, 1000)).toEqual({
      ok: false,
      detail: `TCP 127.0.0.1:${port}: ECONNREFUSED`,
    });
  });

  it('accepts a TCP connection that stays open, and fails one closed at once (what a proxy with no backend does)', async () => {
    expect(await prober.tcp({ host: '127.0.0.1', port: http }, 1000)).toEqual({
      ok: true,
      detail: `TCP 127.0.0.1:${http}: connected`,
    });
    const closer = createTcpServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => closer.listen(0, '127.0.0.1', resolve));
    servers.push(closer);
    const port = (closer.address() as AddressInfo).port;
    expect(await prober.tcp({ host: '127.0.0.1', port }, 1000)).toMatchObject({
      ok: false,
      detail: expect.stringContaining('connection closed at once'),
    });
  });
});
