import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { httpJson } from '@pier/testing';

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');

export type ApiReply<T> = { status: number; body: T; headers: Headers };

/** An authenticated client of the platform's REST API. */
export class ApiClient {
  constructor(
    readonly api: string,
    private token: string,
  ) {}

  static async login(api: string, email: string, password: string): Promise<ApiClient> {
    const reply = await fetch(`${api}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    const body = (await reply.json()) as { accessToken?: string };
    if (reply.status !== 200 || !body.accessToken) {
      throw new Error(`login of ${email} at ${api} answered ${reply.status}: ${JSON.stringify(body)}`);
    }
    return new ApiClient(api, body.accessToken);
  }

  call<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiReply<T>> {
    return httpJson<T>(method, `${this.api}${path}`, body, { authorization: `Bearer ${this.token}` });
  }

  /** A call that must answer with one of `expected`; anything else is an error naming the reply. */
  async must<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    expected: number[] = [200, 201, 202, 204],
  ): Promise<T> {
    const reply = await this.call<T>(method, path, body);
    if (!expected.includes(reply.status)) {
      throw new Error(`${method} ${path} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    }
    return reply.body;
  }
}

/** The deployment `./deploy/local/up.sh` runs on this machine, found through its environment file. */
export interface LocalPlatform {
  readonly stateDir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly api: string;
  readonly routerPort: number;
  readonly baseDomain: string;
  /** Pid files of the processes up.sh started (`<name>.pid`). */
  readonly runDir: string;
  admin(): Promise<ApiClient>;
}

const NOT_RUNNING = 'run ./deploy/local/up.sh first (it starts the platform these benchmarks measure)';

export function localPlatform(): LocalPlatform {
  const stateDir = resolve(process.env.PIER_STATE_DIR ?? join(REPO_ROOT, '.pier'));
  const envFile = join(stateDir, 'env');
  if (!existsSync(envFile)) throw new Error(`${envFile} is missing: ${NOT_RUNNING}`);
  // The file is written by up.sh for bash to source (values are %q-quoted): let bash read it.
  const dump = execFileSync('bash', ['-c', 'set -a; source "$0" >/dev/null; env -0', envFile], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
  const env: Record<string, string> = {};
  for (const entry of dump.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0 && entry.startsWith('PIER_')) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  for (const key of Object.keys(env)) if (process.env[key]) env[key] = process.env[key]!;
  const api = `http://127.0.0.1:${env.PIER_API_PORT ?? '4000'}/api/v1`;
  return {
    stateDir,
    env,
    api,
    routerPort: Number(env.PIER_ROUTER_HTTP_PORT ?? 8080),
    baseDomain: env.PIER_BASE_DOMAIN ?? 'pier.localhost',
    runDir: join(stateDir, 'run'),
    async admin() {
      try {
        await fetch(`http://127.0.0.1:${env.PIER_API_PORT ?? '4000'}/readyz`);
      } catch {
        throw new Error(`the API at ${api} does not answer: ${NOT_RUNNING}`);
      }
      return ApiClient.login(api, env.PIER_ADMIN_EMAIL!, env.PIER_ADMIN_PASSWORD!);
    },
  };
}

/** The pid written by up.sh for `name`, when that process still runs. */
export function runningPid(platform: LocalPlatform, name: string): number | null {
  const file = join(platform.runDir, `${name}.pid`);
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not after ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** The space every benchmark deploys into. */
export const BENCH_SPACE = 'bench';

/** Makes sure the bench space exists (created by the admin when missing). */
export async function ensureBenchSpace(admin: ApiClient): Promise<void> {
  await admin.must('POST', '/spaces', { name: BENCH_SPACE }, [201, 409]);
  // New spaces get the platform's default quota; a benchmark measures the platform, not its limits.
  await admin.must('PUT', `/spaces/${BENCH_SPACE}/quota`, {
    maxApps: null,
    maxInstances: null,
    maxCpuMillicores: null,
    maxMemoryMiB: null,
  });
}

/** Deletes an app of the bench space (its instances are stopped first); missing is fine. */
export async function deleteBenchApp(admin: ApiClient, app: string): Promise<void> {
  await admin.must('DELETE', `/spaces/${BENCH_SPACE}/apps/${app}`, undefined, [200, 202, 204, 404]);
  await waitFor(
    `app ${app} deleted`,
    120_000,
    async () => {
      const reply = await admin.call('GET', `/spaces/${BENCH_SPACE}/apps/${app}`);
      return reply.status === 404 ? true : undefined;
    },
    250,
  );
}
