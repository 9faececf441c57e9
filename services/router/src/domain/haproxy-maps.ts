import { type AppRoute } from './route-table';
import { routableWeights, TRAFFIC_BUCKETS, trafficRanges } from './traffic-split';

/**
 * What HAProxy reads from maps rather than from its configuration, so that changing it is a runtime API
 * map swap and never a reload: which app a host belongs to, and how each app splits its traffic.
 *
 * An app's split map is an integer map (`map_int_int`) with three kinds of keys, disjoint by range:
 * - `<from>:<to> <version>`: the buckets in [0, 10000) a weighted version owns (0.01 % steps);
 * - `<SPILL_KEY + k> <version>`: the k-th version (k from 1, heaviest first) to take a request whose
 *   own version has no usable server;
 * - `<WEIGHTED_KEY + version> 1`: the version has a positive weight (a sticky cookie naming a version
 *   at 0 is not followed).
 */
export const SPILL_KEY = TRAFFIC_BUCKETS;
/** Above every spill rank: versions are at most 999,999 (contracts), so ranks are too. */
export const WEIGHTED_KEY = 2_000_000;

/** The lines of one app's split map, in a stable order. Empty when no version has a routable weight. */
export function splitMap(app: AppRoute): string {
  const ranges = trafficRanges(routableWeights(app));
  const spill = [...ranges].sort((a, b) => b.to - b.from - (a.to - a.from) || a.version - b.version);
  return [
    ...ranges.map((r) => `${r.from}:${r.to} ${r.version}\n`),
    ...spill.map((r, i) => `${SPILL_KEY + i + 1} ${r.version}\n`),
    ...ranges.map((r) => `${WEIGHTED_KEY + r.version} 1\n`),
  ].join('');
}

/**
 * One app per host. The scheduler never lets two apps claim one host, but a table replayed from events
 * stored before it checked may hold both: a host is then its default domain's app's, and otherwise the
 * first app's by id, so every replica routes it the same way and no app takes over another's default
 * domain. Apps being deleted serve no host.
 */
export function hostsMap(apps: readonly (readonly [string, AppRoute])[]): string {
  const owners = new Map<string, string>();
  const served = apps.filter(([, app]) => !app.deleting);
  for (const [id, app] of served) owners.set(app.defaultDomain, id);
  for (const [id, app] of served) for (const host of app.domains) if (!owners.has(host)) owners.set(host, id);
  return [...owners]
    .map(([host, id]) => `${host} ${id}\n`)
    .sort()
    .join('');
}

/** A map file's entries as `[key, value]` pairs, in file order (what a runtime API swap sends). */
export function mapEntries(content: string): [string, string][] {
  return content
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const space = line.indexOf(' ');
      return [line.slice(0, space), line.slice(space + 1)];
    });
}
