import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expectEventually, freePort } from '@pier/testing';
import { Client } from 'pg';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
const ROOT = join(__dirname, '..', '..', '..');

/**
 * A PostgreSQL cluster of the fault suite's own (initdb in a temporary directory, owned by the postgres
 * user since initdb refuses root; trust on 127.0.0.1; a free port): restarting it touches nobody else.
 */
export class OwnPostgres {
  readonly dir = mkdtempSync(join(tmpdir(), 'pier-faults-pg-'));
  port = 0;

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/pier_faults`;
  }

  async start(): Promise<void> {
    if (!this.port) {
      this.port = await freePort();
      const { stdout } = await run('id', ['-u', 'postgres']);
      const uid = Number(stdout.trim());
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      chownSync(this.dir, uid, Number(gid.trim()));
      await asPostgres('initdb', [
        '-D',
        join(this.dir, 'data'),
        '-A',
        'trust',
        '-U',
        'postgres',
        '--no-sync',
      ]);
    }
    await asPostgres('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'log'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      '-w',
      'start',
    ]);
    await expectEventually(
      async () => {
        const client = new Client({ connectionString: this.url.replace('/pier_faults', '/postgres') });
        await client.connect();
        await client.end();
      },
      { timeoutMs: 15_000, intervalMs: 100, what: `Postgres on ${this.port}` },
    );
  }

  async stop(): Promise<void> {
    if (!this.port) return;
    await asPostgres('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']).catch(
      () => undefined,
    );
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function asPostgres(tool: string, args: string[]): Promise<void> {
  await run('runuser', ['-u', 'postgres', '--', join(PG_BIN, tool), ...args], { timeout: 60_000 });
}

/**
 * The pid of this machine's Docker engine when it runs as deploy/local/deps.sh starts it. The engine may
 * have been started by deps.sh of another checkout on the machine (the developer's, while CI runs in a
 * clone); one started any other way is not the suite's to stop, and this throws saying so.
 */
export async function localDockerdPid(): Promise<number> {
  const { stdout } = await run('pgrep', ['-xo', 'dockerd']).catch(() => ({ stdout: '' }));
  const pid = Number(stdout.trim());
  if (!pid) throw new Error('no dockerd runs on this machine');
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  if (!args.startsWith('dockerd --userland-proxy=false'))
    throw new Error(`dockerd runs as [${args}], not as deploy/local/deps.sh starts it: not touched`);
  return pid;
}

/**
 * Restarts this machine's Docker engine (`pid`, by default the one `localDockerdPid` finds): SIGTERM,
 * as an upgrade or a restart does, then, once it is gone, a start as deploy/local/deps.sh does it
 * (`ensure_dockerd`).
 */
export async function restartDockerd(pid?: number): Promise<void> {
  const engine = pid ?? (await localDockerdPid());
  process.kill(engine, 'SIGTERM');
  await expectEventually(() => expect(isAlive(engine)).toBe(false), {
    timeoutMs: 30_000,
    intervalMs: 50,
    what: `dockerd (pid ${engine}) stopped`,
  });
  const script = [
    'set -euo pipefail',
    `source ${join(ROOT, 'deploy', 'local', 'deps.sh')}`,
    'ensure_dockerd',
  ];
  await run('bash', ['-c', script.join('\n')], { timeout: 120_000 });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
