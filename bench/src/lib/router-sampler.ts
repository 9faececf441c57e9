import { Agent, request } from 'node:http';

/** One routed response: when its request was sent and received, and who answered. */
export interface Sample {
  /** Date.now() when the request was sent / its response ended. */
  readonly sentAt: number;
  readonly doneAt: number;
  readonly status: number;
  /** `X-Instance` (the container's hostname) and `X-Label` (the version's label) of the backend image. */
  readonly instance: string;
  readonly label: string;
  /** Why the request failed (status 0): the socket error's code. */
  readonly error?: string;
}

/**
 * Requests through the router in a loop on a few keep-alive connections, recording who answered each: how
 * a client sees a change propagate. Not a load generator: a handful of concurrent requests at a time.
 */
export class RoutedSampler {
  readonly samples: Sample[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly agent: Agent;

  constructor(
    private readonly port: number,
    private readonly host: string,
    private readonly concurrency = 4,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  }

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.concurrency }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.agent.destroy();
  }

  /** Forgets the samples so far (a repetition looks at its own only). */
  reset(): void {
    this.samples.length = 0;
  }

  /** Samples sent at or after `t`. */
  since(t: number): Sample[] {
    return this.samples.filter((s) => s.sentAt >= t);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const sample = await this.once();
      this.samples.push(sample);
      // A refused or failed request (e.g. during a reload) must not spin.
      if (sample.status === 0) await new Promise((r) => setTimeout(r, 5));
    }
  }

  private once(): Promise<Sample> {
    return routedGet(this.port, this.host, this.agent);
  }
}

/** One GET / to 127.0.0.1:`port` with `Host: host` (fetch would drop the Host header). */
export function routedGet(port: number, host: string, agent?: Agent): Promise<Sample> {
  const sentAt = Date.now();
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        headers: { host },
        agent: agent ?? false,
        timeout: 5000,
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            sentAt,
            doneAt: Date.now(),
            status: res.statusCode ?? 0,
            instance: String(res.headers['x-instance'] ?? ''),
            label: String(res.headers['x-label'] ?? ''),
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({
        sentAt,
        doneAt: Date.now(),
        status: 0,
        instance: '',
        label: '',
        error: error.code ?? error.message,
      }),
    );
    req.end();
  });
}
