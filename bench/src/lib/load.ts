import { Agent, request } from 'node:http';

export interface RequestRecord {
  /** Label of the phase the request was sent in. */
  readonly phase: string;
  /** Milliseconds from the scheduled send time to the end of the answer (no coordinated omission). */
  readonly latencyMs: number;
  readonly status: number;
  readonly body: string;
  readonly error?: string;
}

/**
 * An open-loop HTTP load through one port: requests leave at a fixed rate whatever the answers do, each
 * counted from the moment it was due. Requests go over a keep-alive pool, like a browser or an API
 * client behind the router.
 */
export class SteadyLoad {
  readonly records: RequestRecord[] = [];
  phase = 'start';
  private timer?: NodeJS.Timeout;
  private inFlight = 0;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(
    private readonly target: { port: number; host: string; path: string },
    private readonly ratePerSecond: number,
    private readonly timeoutMs = 10_000,
  ) {}

  start(): void {
    const interval = 1000 / this.ratePerSecond;
    const t0 = performance.now();
    let sent = 0;
    // Ticks every 5 ms and sends what is due, so the rate holds even when timers run late.
    this.timer = setInterval(() => {
      const due = Math.floor((performance.now() - t0) / interval);
      while (sent < due) {
        this.send(t0 + sent * interval);
        sent++;
      }
    }, 5);
  }

  private send(dueAt: number): void {
    const phase = this.phase;
    this.inFlight++;
    let done = false;
    const finish = (status: number, body: string, error?: string) => {
      if (done) return;
      done = true;
      this.inFlight--;
      this.records.push({
        phase,
        latencyMs: performance.now() - dueAt,
        status,
        body,
        ...(error ? { error } : {}),
      });
    };
    const req = request(
      {
        host: '127.0.0.1',
        port: this.target.port,
        path: this.target.path,
        headers: { host: this.target.host },
        agent: this.agent,
        timeout: this.timeoutMs,
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => finish(res.statusCode ?? 0, body.trim()));
        res.on('error', (error) => finish(0, '', error.message));
      },
    );
    req.on('error', (error) => finish(0, '', error.message));
    req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
    req.end();
  }

  /** Stops sending and waits for the answers still due. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    const deadline = Date.now() + this.timeoutMs + 1000;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.agent.destroy();
  }

  byPhase(phase: string): RequestRecord[] {
    return this.records.filter((r) => r.phase === phase);
  }
}
