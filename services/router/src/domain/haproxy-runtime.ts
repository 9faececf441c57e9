import { type HaproxyServer } from './haproxy-config';

/**
 * The runtime API commands that take a running HAProxy from `current` to `desired` servers (two
 * configurations of the same layout). A server leaving rotation goes to maintenance first: HAProxy
 * finishes the requests it is serving but sends it no new one. A server whose address changes (a
 * restarted container publishes a new port) is set while in maintenance, then made ready.
 */
export function runtimeCommands(
  current: readonly HaproxyServer[],
  desired: readonly HaproxyServer[],
): string[] {
  const before = new Map(current.map((s) => [`${s.backend}/${s.name}`, s]));
  const commands: string[] = [];
  for (const want of desired) {
    const key = `${want.backend}/${want.name}`;
    const had = before.get(key);
    const wasEnabled = had?.enabled ?? false;
    const moved =
      want.endpoint !== null &&
      (had?.endpoint?.host !== want.endpoint.host || had.endpoint.port !== want.endpoint.port);
    if (wasEnabled && (!want.enabled || moved)) commands.push(`set server ${key} state maint`);
    if (moved) commands.push(`set server ${key} addr ${want.endpoint!.host} port ${want.endpoint!.port}`);
    if (want.enabled && (!wasEnabled || moved)) commands.push(`set server ${key} state ready`);
  }
  return commands;
}
