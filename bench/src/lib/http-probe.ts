import { request } from 'node:http';

export interface ProbeReply {
  readonly status: number;
  readonly body: string;
}

/**
 * One GET on 127.0.0.1:`port` on a fresh connection (no pooling: what answers is what runs now), with
 * an optional Host header. Status 0 for a refused or reset connection.
 */
export function getOnce(port: number, path: string, host?: string, timeoutMs = 5000): Promise<ProbeReply> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: host ? { host } : {}, agent: false, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve({ status: 0, body: '' }));
      },
    );
    req.on('error', (error) => resolve({ status: 0, body: error.message }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/**
 * Polls until a GET answers 200; resolves with the time it did (performance.now()). Gives up after
 * `timeoutMs` with an error naming the last answer.
 */
export async function firstOk(
  port: () => number | Promise<number>,
  path: string,
  host: string | undefined,
  timeoutMs: number,
  intervalMs = 10,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let last: ProbeReply = { status: -1, body: '' };
  while (performance.now() < deadline) {
    last = await getOnce(await port(), path, host, 2000);
    if (last.status === 200) return performance.now();
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`no 200 within ${timeoutMs} ms; last answer ${last.status} ${last.body.slice(0, 200)}`);
}
