import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { type AddressInfo, type Socket } from 'node:net';

/** A stand-in for an instance: answers every request with its own name, and echoes WebSocket bytes. */
export interface Backend {
  readonly name: string;
  readonly port: number;
  /** Requests received so far. */
  readonly received: number;
  /** Requests being answered now. */
  readonly inFlight: number;
  /** The most requests it was answering at once. */
  readonly mostInFlight: number;
  /** TCP connections accepted so far (a client's keep-alive connection counts once). */
  readonly connections: number;
  /** Answers the requests to `/hold`, which wait for this. */
  release(): void;
  close(): Promise<void>;
}

export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

/** What a backend puts in its answer body. */
export interface Echo {
  readonly name: string;
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

/**
 * Starts a backend on a free 127.0.0.1 port. `GET /slow?ms=N` answers after N ms, `GET /hold` once the
 * test calls `release()`; an `Upgrade: websocket` request is accepted and every byte sent afterwards is
 * echoed back.
 */
export async function startBackend(name: string): Promise<Backend> {
  let received = 0;
  let inFlight = 0;
  let mostInFlight = 0;
  let connections = 0;
  const sockets = new Set<Socket>();
  const held: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    received++;
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    const url = new URL(req.url ?? '/', 'http://x');
    const delay = Number(url.searchParams.get('ms') ?? 0);
    req.resume();
    req.on('end', () => {
      const answer = () => {
        const echo: Echo = { name, method: req.method ?? '', url: req.url ?? '', headers: req.headers };
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-backend', name);
        res.end(JSON.stringify(echo));
        inFlight--;
      };
      if (url.pathname === '/hold') held.push(answer);
      else setTimeout(answer, delay);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    connections++;
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket) => {
    const accept = createHash('sha1')
      .update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\nX-Backend: ${name}\r\n\r\n`,
    );
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    port,
    get received() {
      return received;
    },
    get inFlight() {
      return inFlight;
    },
    get mostInFlight() {
      return mostInFlight;
    },
    get connections() {
      return connections;
    },
    release: () => held.splice(0).forEach((answer) => answer()),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One request through the router, with an explicit Host header. */
export function request(
  port: number,
  host: string,
  options: {
    path?: string;
    method?: string;
    headers?: Record<string, string>;
    agent?: http.Agent | false;
    body?: string;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/',
        method: options.method ?? 'GET',
        headers: { host, ...options.headers },
        agent: options.agent ?? false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer from the router for ${host}`)));
    req.end(options.body);
  });
}

/** The backend that answered (its `x-backend` header), or the status when none did. */
export async function whoAnswers(port: number, host: string, agent?: http.Agent): Promise<string> {
  const answer = await request(port, host, { agent: agent ?? false });
  return answer.status === 200 ? String(answer.headers['x-backend']) : `status ${answer.status}`;
}

/** Sends `count` requests, `concurrency` at a time over keep-alive connections, and counts who answered. */
export async function tally(
  port: number,
  host: string,
  count: number,
  concurrency = 8,
): Promise<Record<string, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const counts: Record<string, number> = {};
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          next++;
          const who = await whoAnswers(port, host, agent);
          counts[who] = (counts[who] ?? 0) + 1;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return counts;
}

/**
 * Opens a WebSocket-style upgrade through the router, sends `message` over the upgraded connection and
 * resolves with the answering backend and what came back.
 */
export async function upgradeAndEcho(
  port: number,
  host: string,
  message: string,
): Promise<{ status: number; backend: string; echoed: string }> {
  const tunnel = await openTunnel(port, host);
  try {
    return { status: tunnel.status, backend: tunnel.backend, echoed: await tunnel.exchange(message) };
  } finally {
    tunnel.close();
  }
}

/** An upgraded (WebSocket) connection through the router, kept open to exchange messages. */
export interface Tunnel {
  /** The status the upgrade was answered with (101). */
  readonly status: number;
  /** The backend that accepted the upgrade. */
  readonly backend: string;
  /** Sends `message` and resolves with what the backend echoed (rejects if the tunnel was closed). */
  exchange(message: string): Promise<string>;
  /** Whether the router or the backend closed the connection. */
  readonly closed: boolean;
  close(): void;
}

/** Opens an upgraded connection through the router and keeps it open. */
export function openTunnel(port: number, host: string): Promise<Tunnel> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: '/socket',
      headers: {
        host,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-version': '13',
      },
    });
    req.on('upgrade', (res, socket: Socket) => {
      // Held open for as long as the test wants: no idle timeout of the request's.
      socket.setTimeout(0);
      let closed = false;
      let received = '';
      let waiter: { expected: number; resolve(text: string): void; reject(error: Error): void } | undefined;
      const settle = () => {
        if (waiter && received.length >= waiter.expected) {
          const w = waiter;
          waiter = undefined;
          const text = received;
          received = '';
          w.resolve(text);
        }
      };
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString();
        settle();
      });
      socket.on('close', () => {
        closed = true;
        waiter?.reject(new Error('the tunnel was closed'));
        waiter = undefined;
      });
      socket.on('error', () => undefined);
      resolve({
        status: res.statusCode ?? 0,
        backend: String(res.headers['x-backend']),
        get closed() {
          return closed;
        },
        exchange: (message) =>
          new Promise<string>((done, fail) => {
            if (closed) return fail(new Error('the tunnel was closed'));
            const timer = setTimeout(() => waiter?.reject(new Error('no echo within 10 s')), 10_000);
            waiter = {
              expected: message.length,
              resolve: (text) => (clearTimeout(timer), done(text)),
              reject: (error) => (clearTimeout(timer), fail(error)),
            };
            socket.write(message);
          }),
        close: () => socket.destroy(),
      });
    });
    req.on('response', (res) => reject(new Error(`no upgrade: status ${res.statusCode}`)));
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error('no upgrade within 15 s')));
    req.end();
  });
}
