import { type HaproxyMap, type HaproxyServer } from './haproxy-config';
import { mapEntries } from './haproxy-maps';

/**
 * The runtime API commands that take a running HAProxy from `current` to `desired` servers (two
 * configurations of the same layout), in two groups: `entering` before the new maps (servers that
 * will be in rotation), `leaving` after them (servers taken out). A server leaving rotation goes to
 * maintenance: HAProxy finishes the requests it is serving but sends it no new one. A server whose
 * address changes (a restarted container publishes a new port) is set while in maintenance, then made
 * ready if it serves.
 */
export function runtimeCommands(
  current: readonly HaproxyServer[],
  desired: readonly HaproxyServer[],
): { entering: string[]; leaving: string[] } {
  const before = new Map(current.map((s) => [`${s.backend}/${s.name}`, s]));
  const entering: string[] = [];
  const leaving: string[] = [];
  for (const want of desired) {
    const key = `${want.backend}/${want.name}`;
    const had = before.get(key);
    const wasEnabled = had?.enabled ?? false;
    const moved =
      want.endpoint !== null &&
      (had?.endpoint?.host !== want.endpoint.host || had.endpoint.port !== want.endpoint.port);
    const commands = want.enabled ? entering : leaving;
    if (wasEnabled && (!want.enabled || moved)) commands.push(`set server ${key} state maint`);
    if (moved) commands.push(`set server ${key} addr ${want.endpoint!.host} port ${want.endpoint!.port}`);
    if (want.enabled && (!wasEnabled || moved)) commands.push(`set server ${key} state ready`);
  }
  return { entering, leaving };
}

/**
 * The maps whose content differs between two configurations of the same layout (which read the same
 * map files): each is replaced whole at runtime.
 */
export function changedMaps(current: readonly HaproxyMap[], desired: readonly HaproxyMap[]): HaproxyMap[] {
  const before = new Map(current.map((m) => [m.path, m.content]));
  return desired.filter((m) => before.get(m.path) !== m.content);
}

/** Bytes of entries per `add map` command: its payload must fit HAProxy's buffer (16 KiB by default). */
const PAYLOAD_BYTES = 8000;

/**
 * The runtime API commands that replace a map's whole content atomically (HAProxy 2.4+): entries are
 * added to a new version of the map (`prepare map`, then `add map @<version>` with a payload of many
 * entries), which becomes the one requests see at `commit map`. `version` is what `prepare map`
 * answered. Requests see either the old map or the new one, never a mix.
 */
export function mapReplaceCommands(map: HaproxyMap, version: number): string[] {
  const commands: string[] = [];
  let payload = '';
  for (const [key, value] of mapEntries(map.content)) {
    const line = `${key} ${value}\n`;
    if (payload.length + line.length > PAYLOAD_BYTES) {
      commands.push(`add map @${version} ${map.path} <<\n${payload}`);
      payload = '';
    }
    payload += line;
  }
  if (payload !== '') commands.push(`add map @${version} ${map.path} <<\n${payload}`);
  commands.push(`commit map @${version} ${map.path}`);
  return commands;
}

/** The version `prepare map` created, from its answer (`New version created: 3`). */
export function preparedVersion(answer: string): number {
  const version = /New version created: (\d+)/.exec(answer)?.[1];
  if (version === undefined) throw new Error(`HAProxy did not prepare a map version: ${answer.trim()}`);
  return Number(version);
}
