import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type HaproxyConfig, type HaproxyMap } from '../../domain/haproxy-config';

const run = promisify(execFile);

/** Where the driver keeps HAProxy's files, all under the router's state directory. */
export interface HaproxyPaths {
  readonly stateDir: string;
  readonly config: string;
  readonly hostsMap: string;
  /** Which backend takes an app's request (weights, sticky versions). */
  readonly routesMap: string;
  /** The master CLI: reload, process list. */
  readonly masterSocket: string;
  /** The current worker's runtime API: server addresses and states. */
  readonly statsSocket: string;
  /** Where a worker replaced by a reload hands its requests to the current one. */
  readonly handoffSocket: string;
  /** The master's pid, to find a proxy left running by a previous router. */
  readonly pidFile: string;
  /** HAProxy's own output (notices, alerts); the previous run's is kept as `.1`. */
  readonly log: string;
}

export function haproxyPaths(stateDir: string): HaproxyPaths {
  return {
    stateDir,
    config: join(stateDir, 'haproxy.cfg'),
    hostsMap: join(stateDir, 'hosts.map'),
    routesMap: join(stateDir, 'routes.map'),
    masterSocket: join(stateDir, 'master.sock'),
    statsSocket: join(stateDir, 'haproxy.sock'),
    handoffSocket: join(stateDir, 'handoff.sock'),
    pidFile: join(stateDir, 'haproxy.pid'),
    log: join(stateDir, 'haproxy.log'),
  };
}

/**
 * Writes the configuration and its maps (each replaced atomically), then has HAProxy check them: a
 * configuration HAProxy would refuse never reaches a reload.
 */
export async function writeConfig(binary: string, paths: HaproxyPaths, config: HaproxyConfig): Promise<void> {
  await mkdir(paths.stateDir, { recursive: true, mode: 0o700 });
  // Routers before the routes map kept a map per app here.
  await rm(join(paths.stateDir, 'maps'), { recursive: true, force: true });
  await writeMaps(config.maps);
  await writeAtomically(paths.config, config.text);
  try {
    await run(binary, ['-c', '-q', '-f', paths.config], { timeout: 30_000 });
  } catch (error) {
    const { stderr, stdout, message } = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`HAProxy rejects ${paths.config}: ${(stderr || stdout || message).trim()}`);
  }
}

/**
 * Writes map files as the runtime API has set them, so that the files always hold what HAProxy serves
 * (a reload or a restart reads them).
 */
export async function writeMaps(maps: readonly HaproxyMap[]): Promise<void> {
  for (const map of maps) await writeAtomically(map.path, map.content);
}

async function writeAtomically(path: string, content: string): Promise<void> {
  const temporary = `${path}.tmp`;
  await writeFile(temporary, content, { mode: 0o600 });
  await rename(temporary, path);
}

/** The last lines HAProxy wrote, for error messages. */
export async function logTail(paths: HaproxyPaths, lines = 15): Promise<string> {
  try {
    return (await readFile(paths.log, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no HAProxy log)';
  }
}
