import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { expectEventually } from './expect-eventually';
import { freePort } from './processes';

/**
 * A registry of a test's own: Debian's `docker-registry` on a free port of 127.0.0.1 (plain HTTP,
 * which Docker accepts for 127.0.0.0/8) with htpasswd (bcrypt) authentication and storage in a temporary
 * directory. Needs `htpasswd` (apache2-utils, installed by deploy/local/deps.sh).
 */
export class TestRegistry {
  readonly username = 'pier-test';
  readonly password = randomBytes(18).toString('base64url');
  /** `127.0.0.1:<port>`, once started. */
  host = '';
  private dir = '';
  private process: ChildProcess | null = null;
  private output = '';

  async start(): Promise<void> {
    this.dir ||= await mkdtemp(join(tmpdir(), 'pier-registry-'));
    this.host ||= `127.0.0.1:${await freePort()}`;
    const { stdout } = await promisify(execFile)('htpasswd', ['-Bbn', this.username, this.password]);
    await writeFile(join(this.dir, 'htpasswd'), stdout, { mode: 0o600 });
    const config = [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: '${join(this.dir, 'data')}' } }`,
      `http: { addr: '${this.host}' }`,
      `auth: { htpasswd: { realm: pier-test, path: '${join(this.dir, 'htpasswd')}' } }`,
    ].join('\n');
    await writeFile(join(this.dir, 'config.yml'), config);
    const child = spawn('/usr/bin/docker-registry', ['serve', join(this.dir, 'config.yml')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.process = child;
    await expectEventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`the registry exited: ${this.output}`);
        // Up and asking for credentials.
        const status = (await fetch(`http://${this.host}/v2/`)).status;
        if (status !== 401) throw new Error(`GET /v2/ answered ${status}, not 401`);
      },
      { timeoutMs: 15_000, what: `registry on ${this.host}` },
    );
  }

  /** Stops the registry and waits for it to exit; its data stays until `remove`. */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  async remove(): Promise<void> {
    await this.stop();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  /** Credentials as a registry secret holds them. */
  secret(password = this.password): { kind: 'registry'; server: string; username: string; password: string } {
    return { kind: 'registry', server: this.host, username: this.username, password };
  }

  /** Tags `source` as `<host>/<path>:<tag>` and pushes it with this registry's credentials. */
  async push(docker: Docker, source: string, path: string, tag: string): Promise<string> {
    const repo = `${this.host}/${path}`;
    await docker.getImage(source).tag({ repo, tag });
    const authconfig = { username: this.username, password: this.password, serveraddress: this.host };
    const stream = await docker.getImage(`${repo}:${tag}`).push({ authconfig });
    const output = await new Promise<{ error?: string }[]>((resolve, reject) =>
      docker.modem.followProgress(stream, (error: Error | null, out: { error?: string }[]) =>
        error ? reject(error) : resolve(out),
      ),
    );
    const failure = output.find((line) => line.error);
    if (failure) throw new Error(`push ${repo}:${tag}: ${failure.error}`);
    return `${repo}:${tag}`;
  }
}
