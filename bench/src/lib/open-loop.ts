import { Agent, type ClientRequest, request } from 'node:http';
import type { Socket } from 'node:net';

/** Where one request went: what the client waited for, and what the server took. */
export interface TimedRequest {
  /** Label of the phase the request was due in. */
  readonly phase: string;
  /** When the request was due (`performance.now()` milliseconds). */
  readonly dueAt: number;
  /** Milliseconds from the due time to the moment the request was handed to node:http (timer lag). */
  readonly issueLagMs: number;
  /**
   * Milliseconds from handing the request to node:http until it had a connected socket: the wait for a
   * free pooled socket, plus the TCP connect when a new one was opened. NaN when it never got one.
   */
  readonly socketWaitMs: number;
  /**
   * Milliseconds from the request written to the socket until the end of the answer (or the failure):
   * the time the router and the instance took. NaN when it was never written.
   */
  readonly serverMs: number;
  /** Milliseconds from the due time to the end of the answer or the failure. */
  readonly totalMs: number;
  /** HTTP status; 0 when there was no answer. */
  readonly status: number;
  /** The answer's body, trimmed and cut at 200 characters. */
  readonly body: string;
  /** Why there was no answer: `timeout waiting for a socket`, `timeout waiting for the answer`, or the error. */
  readonly error?: string;
}

export interface LoadTarget {
  readonly port: number;
  /** The Host header: which app the router serves. */
  readonly host: string;
  readonly path: string;
  readonly address?: string;
}

export interface OpenLoadOptions {
  /** Sockets the client may open (node:http Agent `maxSockets`); requests beyond wait for one. */
  readonly maxSockets?: number;
  /** A request without a complete answer this long after it was issued fails as a timeout. */
  readonly timeoutMs?: number;
}

/**
 * An open-loop HTTP load through one port: requests leave at a fixed rate whatever the answers do, and
 * each is timed from the moment it was due, so a slow answer never delays the next request (no
 * coordinated omission). Each request's time is split into the client's part (timer lag, waiting for a
 * pooled socket or connecting) and the server's part (written → answer complete), so a client that
 * runs out of sockets is not mistaken for a slow platform.
 *
 * Phases: `start(phase, rate)` sends at `rate` per second labelled `phase`; `drain()` stops sending and
 * waits until no request is outstanding, so nothing of one phase spills into the next.
 */
export class OpenLoad {
  readonly records: TimedRequest[] = [];
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private timer?: NodeJS.Timeout;
  private outstanding = 0;
  private readonly idle: (() => void)[] = [];

  constructor(
    private readonly target: LoadTarget,
    options: OpenLoadOptions = {},
  ) {
    // Idle sockets closed after 4 s, before the router's keep-alive timeout (10 s) closes them: a client
    // that reuses a socket just as the server closes it gets ECONNRESET (RFC 9112 § 9.3.1's race).
    this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 512, timeout: 4000 });
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** Requests issued and not yet answered or failed. */
  get inFlight(): number {
    return this.outstanding;
  }

  /** Starts sending `ratePerSecond` requests a second, evenly spaced, labelled `phase`. */
  start(phase: string, ratePerSecond: number): void {
    this.pause();
    if (!(ratePerSecond > 0)) throw new Error(`rate must be positive, got ${ratePerSecond}`);
    const interval = 1000 / ratePerSecond;
    const t0 = performance.now();
    let sent = 0;
    // Ticks every 5 ms and sends whatever is due, so the rate holds even when timers run late.
    const tick = () => {
      const due = Math.floor((performance.now() - t0) / interval) + 1;
      while (sent < due) this.send(phase, t0 + sent++ * interval);
    };
    tick();
    this.timer = setInterval(tick, 5);
  }

  /** Stops sending; requests already issued go on. */
  pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Stops sending and waits until every issued request has its answer or has failed. Cannot hang: every
   * request fails by itself `timeoutMs` after it was issued.
   */
  async drain(): Promise<void> {
    this.pause();
    if (this.outstanding === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /** Drains, then closes the pooled sockets. */
  async close(): Promise<void> {
    await this.drain();
    this.agent.destroy();
  }

  byPhase(phase: string): TimedRequest[] {
    return this.records.filter((r) => r.phase === phase);
  }

  private send(phase: string, dueAt: number): void {
    const issuedAt = performance.now();
    let connectedAt = Number.NaN;
    let writtenAt = Number.NaN;
    let done = false;
    this.outstanding++;
    const finish = (status: number, body: string, error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      const end = performance.now();
      this.records.push({
        phase,
        dueAt,
        issueLagMs: issuedAt - dueAt,
        socketWaitMs: connectedAt - issuedAt,
        serverMs: end - writtenAt,
        totalMs: end - dueAt,
        status,
        body: body.trim().slice(0, 200),
        ...(error !== undefined ? { error } : {}),
      });
      if (--this.outstanding === 0) for (const resolve of this.idle.splice(0)) resolve();
    };
    const req: ClientRequest = request(
      {
        host: this.target.address ?? '127.0.0.1',
        port: this.target.port,
        path: this.target.path,
        headers: { host: this.target.host },
        agent: this.agent,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 200) body += chunk;
        });
        res.on('end', () => finish(res.statusCode ?? 0, body));
        res.on('error', (error) => finish(0, '', error.message));
      },
    );
    const deadline = setTimeout(() => {
      const where = Number.isNaN(connectedAt) ? 'a socket' : 'the answer';
      const error = `timeout waiting for ${where}`;
      finish(0, '', error);
      req.destroy(new Error(error));
    }, this.timeoutMs);
    req.on('socket', (socket: Socket) => {
      if (!socket.connecting) connectedAt = performance.now();
      else socket.once('connect', () => (connectedAt = performance.now()));
    });
    req.on('finish', () => (writtenAt = performance.now()));
    req.on('error', (error: NodeJS.ErrnoException) => finish(0, '', error.code ?? error.message));
    req.end();
  }
}

/**
 * A closed loop at saturation: `concurrency` clients each send the next request as soon as the last is
 * answered, for `seconds` after a one-second warm-up. Answers/s of 200 is what the target can serve.
 */
export async function saturate(
  target: LoadTarget,
  concurrency: number,
  seconds: number,
): Promise<{ okPerSecond: number; sent: number; ok: number; failures: Record<string, number> }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, timeout: 4000 });
  const failures: Record<string, number> = {};
  let counting = false;
  let running = true;
  let sent = 0;
  let ok = 0;
  const once = () =>
    new Promise<{ status: number; body: string; error?: string }>((resolve) => {
      const req = request(
        {
          host: target.address ?? '127.0.0.1',
          port: target.port,
          path: target.path,
          headers: { host: target.host },
          agent,
          timeout: 15_000,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', (e) => resolve({ status: 0, body: '', error: e.message }));
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) =>
        resolve({ status: 0, body: '', error: e.code ?? e.message }),
      );
      req.on('timeout', () => req.destroy(new Error('timeout waiting for the answer')));
      req.end();
    });
  const worker = async () => {
    while (running) {
      const answer = await once();
      if (!counting) continue;
      sent++;
      if (answer.status === 200) ok++;
      else {
        const cause = failureCause(answer);
        failures[cause] = (failures[cause] ?? 0) + 1;
        // A refused connection fails at once: do not spin.
        if (answer.status === 0) await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  await new Promise((r) => setTimeout(r, 1000));
  counting = true;
  const from = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  const elapsed = (performance.now() - from) / 1000;
  running = false;
  await Promise.all(workers);
  agent.destroy();
  return { okPerSecond: ok / elapsed, sent, ok, failures };
}

/**
 * Why a request failed, as a stable key to count by: `HTTP 503 NO_READY_INSTANCE` (status and the code
 * of Pier's JSON error body, or the start of another body), `timeout waiting for …`, or
 * `connection error ECONNRESET`. Empty for a 200.
 */
export function failureCause(r: { status: number; body: string; error?: string }): string {
  if (r.status === 200) return '';
  if (r.status === 0) {
    const error = r.error ?? 'no answer';
    return error.startsWith('timeout') ? error : `connection error ${error}`;
  }
  return `HTTP ${r.status} ${errorCode(r.body) ?? (r.body.slice(0, 40) || '(empty body)')}`;
}

/** The `error.code` of Pier's JSON error body (`{"error":{"code":"…"`), even when the body was cut. */
export function errorCode(body: string): string | undefined {
  return /^\s*\{\s*"error"\s*:\s*\{\s*"code"\s*:\s*"([A-Za-z0-9_.-]+)"/.exec(body)?.[1];
}
