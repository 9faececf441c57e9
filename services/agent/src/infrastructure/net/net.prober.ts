import { type ClientRequest, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { type CheckResult, type NetworkProber } from '../../application/ports';

/**
 * Published ports on 127.0.0.1 are served by Docker's userland proxy, which accepts every connection and
 * only then dials the container: with nothing listening inside, the connection is closed right away. A
 * TCP check therefore holds the connection a moment and fails when the other side closes it unasked.
 */
const SETTLE_MS = 500;
/** Node's timers hold at most this; a longer delay would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const timeoutOf = (ms: number) =>
  Number.isFinite(ms) ? Math.min(Math.max(Math.floor(ms), 1), MAX_TIMER_MS) : 1;

function portProblem(port: number): string | undefined {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? undefined : `port ${port} is not a TCP port`;
}

const reasonOf = (error: unknown) =>
  (error as NodeJS.ErrnoException)?.code ?? (error as Error)?.message ?? String(error);

/**
 * HTTP and TCP checks from the node, with Kubernetes' rules for what counts as success. A check never
 * throws and never rejects: whatever the target (a path Node refuses to send, a header with CR/LF, a port
 * out of range, a peer that misbehaves), the answer is a result, failed with the reason.
 */
export class NetProber implements NetworkProber {
  http(
    target: { host: string; port: number; path: string; headers?: Readonly<Record<string, string>> },
    timeoutMs: number,
  ): Promise<CheckResult> {
    const url = `http://${target.host}:${target.port}${target.path}`;
    const failed = (why: string): CheckResult => ({ ok: false, detail: `GET ${url}: ${why}` });
    const badPort = portProblem(target.port);
    if (badPort) return Promise.resolve(failed(badPort));
    return new Promise((resolve) => {
      let req: ClientRequest | undefined;
      let timer: NodeJS.Timeout | undefined;
      const finish = (result: CheckResult) => {
        clearTimeout(timer);
        resolve(result);
        req?.destroy();
      };
      try {
        req = request(
          {
            host: target.host,
            port: target.port,
            path: target.path,
            method: 'GET',
            headers: { 'user-agent': 'pier-agent-probe', ...target.headers },
            agent: false,
          },
          (res) => {
            const status = res.statusCode ?? 0;
            finish({ ok: status >= 200 && status < 400, detail: `GET ${url}: HTTP ${status}` });
          },
        );
        req.on('error', (error) => finish(failed(reasonOf(error))));
        // The whole exchange, not only an idle socket, must fit in the probe's timeout.
        timer = setTimeout(() => finish(failed(`no answer within ${timeoutMs} ms`)), timeoutOf(timeoutMs));
        req.end();
      } catch (error) {
        // Node refuses, before any I/O, a request it cannot write (a path with spaces, a header value
        // with CR/LF, a name that is no token): the probe fails, it never gets sent.
        finish(failed(`not sent: ${(error as Error)?.message ?? String(error)}`));
      }
    });
  }

  tcp(target: { host: string; port: number }, timeoutMs: number): Promise<CheckResult> {
    const where = `TCP ${target.host}:${target.port}`;
    const failed = (why: string): CheckResult => ({ ok: false, detail: `${where}: ${why}` });
    const badPort = portProblem(target.port);
    if (badPort) return Promise.resolve(failed(badPort));
    return new Promise((resolve) => {
      let socket: Socket | undefined;
      let timer: NodeJS.Timeout | undefined;
      let settle: NodeJS.Timeout | undefined;
      const finish = (result: CheckResult) => {
        clearTimeout(timer);
        clearTimeout(settle);
        resolve(result);
        socket?.destroy();
      };
      const limit = timeoutOf(timeoutMs);
      try {
        socket = connect({ host: target.host, port: target.port });
        // `on`, not `once`: a socket may report more than one error, and an error without a listener
        // would end the process.
        socket.on('error', (error) => finish(failed(reasonOf(error))));
        timer = setTimeout(() => finish(failed(`no connection within ${timeoutMs} ms`)), limit);
        socket.once('connect', () => {
          clearTimeout(timer);
          settle = setTimeout(
            () => finish({ ok: true, detail: `${where}: connected` }),
            Math.min(SETTLE_MS, limit / 2),
          );
          socket!.once('data', () => finish({ ok: true, detail: `${where}: connected` }));
          socket!.once('close', () => finish(failed('connection closed at once (is anything listening?)')));
        });
      } catch (error) {
        finish(failed(`not attempted: ${(error as Error)?.message ?? String(error)}`));
      }
    });
  }
}
