import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectEventually } from './expect-eventually';
import { freePort } from './processes';

/**
 * A NATS server of a test's own, on a free port with its JetStream store in a temporary directory:
 * stopping or restarting it touches nobody else's platform or test. The port and the store stay the
 * same across restarts, as they do for a real server.
 */
export class NatsServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'pier-nats-'));
  port = 0;
  private server: ChildProcess | null = null;

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /**
   * Starts the server and waits until it answers. `jetstream: false` starts it without JetStream: a
   * client connects, but every JetStream request fails (what a client sees of a server whose JetStream
   * is not up yet).
   */
  async start(options: { jetstream?: boolean } = {}): Promise<void> {
    const jetstream = options.jetstream ?? true;
    this.port ||= await freePort();
    const server = spawn(
      'nats-server',
      ['-a', '127.0.0.1', '-p', String(this.port), ...(jetstream ? ['-js', '-sd', this.dir] : [])],
      { stdio: 'ignore' },
    );
    this.server = server;
    await expectEventually(
      async () => {
        if (server.exitCode !== null) throw new Error(`nats-server exited with ${server.exitCode}`);
        const info = await fetchInfo(this.port);
        if (!info.startsWith('INFO ')) throw new Error(`not a NATS server: ${info}`);
        if (jetstream && !info.includes('"jetstream":true')) throw new Error('JetStream is not on yet');
      },
      { timeoutMs: 15_000, intervalMs: 100, what: `NATS on ${this.port}` },
    );
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server || server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }

  /** Stops the server and deletes its store. */
  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The first line a NATS server sends (`INFO {...}`). */
function fetchInfo(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\n')) {
        socket.destroy();
        resolve(data.split('\n')[0]!);
      }
    });
    socket.on('error', reject);
  });
}
