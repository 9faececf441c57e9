import { request } from 'node:http';
import { connect } from 'node:net';
import { type CheckResult, type NetworkProber } from '../../application/ports';

/**
 * Published ports on 127.0.0.1 are served by Docker's userland proxy, which accepts every connection and
 * only then dials the container: with nothing listening inside, the connection is closed right away. A
 * TCP check therefore holds the connection a moment and fails when the other side closes it unasked.
 */
const SETTLE_MS = 500;

/** HTTP and TCP checks from the node, with Kubernetes' rules for what counts as success. */
export class NetProber implements NetworkProber {
  http(
    target: { host: string; port: number; path: string; headers?: Readonly<Record<string, string>> },
    timeoutMs: number,
  ): Promise<CheckResult> {
    const url = `http://${target.host}:${target.port}${target.path}`;
    return new Promise((resolve) => {
      const finish = (result: CheckResult) => {
        clearTimeout(timer);
        resolve(result);
        req.destroy();
      };
      // The whole exchange, not only an idle socket, must fit in the probe's timeout.
      const timer = setTimeout(
        () => finish({ ok: false, detail: `GET ${url}: no answer within ${timeoutMs} ms` }),
        timeoutMs,
      );
      const req = request(
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
      req.on('error', (error: NodeJS.ErrnoException) =>
        finish({ ok: false, detail: `GET ${url}: ${error.code ?? error.message}` }),
      );
      req.end();
    });
  }

  tcp(target: { host: string; port: number }, timeoutMs: number): Promise<CheckResult> {
    const where = `TCP ${target.host}:${target.port}`;
    return new Promise((resolve) => {
      const socket = connect({ host: target.host, port: target.port });
      const finish = (result: CheckResult) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const timer = setTimeout(
        () => finish({ ok: false, detail: `${where}: no connection within ${timeoutMs} ms` }),
        timeoutMs,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        const settle = setTimeout(
          () => finish({ ok: true, detail: `${where}: connected` }),
          Math.min(SETTLE_MS, timeoutMs / 2),
        );
        socket.once('data', () => {
          clearTimeout(settle);
          finish({ ok: true, detail: `${where}: connected` });
        });
        socket.once('close', () => {
          clearTimeout(settle);
          finish({ ok: false, detail: `${where}: connection closed at once (is anything listening?)` });
        });
      });
      socket.once('error', (error: NodeJS.ErrnoException) =>
        finish({ ok: false, detail: `${where}: ${error.code ?? error.message}` }),
      );
    });
  }
}
