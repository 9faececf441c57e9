import { type AppRoute } from './route-table';
import { routableWeights, TRAFFIC_BUCKETS, trafficRanges } from './traffic-split';

/**
 * What HAProxy reads from maps rather than from its configuration, so that changing it is a runtime API
 * map swap and never a reload: which app a host belongs to (the hosts map), and which backend takes an
 * app's request (the routes map). Both are string maps, which HAProxy looks up in a tree: routing a
 * request costs the same however many apps there are.
 *
 * The routes map has these keys per app `<id>` (`<space>_<app>`):
 * - `<id>`: the backend every request of the app goes to, or `~split` when its traffic is split;
 * - `<id>/c<cell>`, split apps only: the backend of the buckets `cell × 100` to `cell × 100 + 99` (of
 *   [0, 10000), 0.01 % each), or `~fine` for a cell that two destinations share;
 * - `<id>/b<bucket>`: the backend of one bucket of such a shared cell;
 * - `<id>/v<version>`, sticky apps only: the version a sticky cookie names, while it may be followed.
 *
 * Every value is resolved by the router from what it sends HAProxy: a weighted version without a
 * server in rotation spills to the heaviest other weighted version that has one, and with none left
 * the app's `unavailable` backend answers 503. A version at 0 is never a destination.
 */
export const SPLIT = '~split';
export const SHARED_CELL = '~fine';
/** Buckets per cell of a split app. */
export const CELL_BUCKETS = 100;

/** The names of an app's backends: a version's, or (null) the one answering 503. */
export type BackendOf = (app: AppRoute, version: number | null) => string;

/**
 * The routes map (see above), in a stable order. `up` says whether a version's backend has a server in
 * rotation; the router sends those states before a map that counts on them and takes servers out only
 * after a map that no longer does.
 */
export function routesMap(
  apps: readonly (readonly [string, AppRoute])[],
  up: (app: AppRoute, version: number) => boolean,
  backendOf: BackendOf,
): string {
  return apps
    .filter(([, app]) => !app.deleting)
    .flatMap(([id, app]) =>
      appRoutes(
        id,
        app,
        (v) => up(app, v),
        (v) => backendOf(app, v),
      ),
    )
    .map(([key, value]) => `${key} ${value}\n`)
    .join('');
}

function appRoutes(
  id: string,
  app: AppRoute,
  up: (version: number) => boolean,
  backendOf: (version: number | null) => string,
): [string, string][] {
  const ranges = trafficRanges(routableWeights(app));
  const heaviestFirst = [...ranges].sort((a, b) => b.to - b.from - (a.to - a.from) || a.version - b.version);
  const spill = heaviestFirst.find((r) => up(r.version))?.version ?? null;
  // Adjacent ranges with one destination are one.
  const parts: { from: number; to: number; backend: string }[] = [];
  for (const r of ranges) {
    const backend = backendOf(up(r.version) ? r.version : spill);
    const last = parts[parts.length - 1];
    if (last && last.backend === backend) last.to = r.to;
    else parts.push({ from: r.from, to: r.to, backend });
  }
  const entries: [string, string][] = [];
  if (parts.length <= 1) entries.push([id, parts[0]?.backend ?? backendOf(null)]);
  else {
    entries.push([id, SPLIT]);
    for (let cell = 0; cell < TRAFFIC_BUCKETS / CELL_BUCKETS; cell++) {
      const first = cell * CELL_BUCKETS;
      const last = first + CELL_BUCKETS - 1;
      const within = parts.filter((p) => p.to >= first && p.from <= last);
      if (within.length === 1) {
        entries.push([`${id}/c${cell}`, within[0]!.backend]);
        continue;
      }
      entries.push([`${id}/c${cell}`, SHARED_CELL]);
      for (const p of within) {
        for (let b = Math.max(p.from, first); b <= Math.min(p.to, last); b++)
          entries.push([`${id}/b${b}`, p.backend]);
      }
    }
  }
  if (app.stickySessions) {
    for (const r of ranges) if (up(r.version)) entries.push([`${id}/v${r.version}`, backendOf(r.version)]);
  }
  return entries;
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
