import { type AppRoute } from './route-table';

/** Requests are split over this many buckets: one bucket is 0.01 % of an app's traffic. */
export const TRAFFIC_BUCKETS = 10_000;

/** A version's share of the buckets: `from` to `to`, both included. */
export interface TrafficRange {
  readonly version: number;
  readonly from: number;
  readonly to: number;
}

/**
 * The versions that may get HTTP traffic and their weights: a positive weight, a version the router
 * knows, with an HTTP port. A version at 0 never gets traffic.
 */
export function routableWeights(app: AppRoute): Map<number, number> {
  const routable = new Map<number, number>();
  for (const [version, weight] of app.weights) {
    if (weight > 0 && app.versions.get(version)?.httpPort != null) routable.set(version, weight);
  }
  return routable;
}

/**
 * The versions the data plane can route, whatever their weight: those with an HTTP port, in order. The
 * data plane has a backend for each, so a weight going from 0 to positive (or back) changes no layout.
 */
export function routableVersions(app: AppRoute): number[] {
  return [...app.versions.values()]
    .filter((v) => v.httpPort != null)
    .map((v) => v.version)
    .sort((a, b) => a - b);
}

/**
 * Splits the buckets between versions in proportion to their weights, lowest version first, ranges
 * adjacent and covering all `TRAFFIC_BUCKETS` exactly. Weights summing to 10000 (the contract) map one
 * to one; any other sum (a weighted version that cannot be routed) is rescaled by largest remainder, so
 * its share goes to the others in proportion.
 */
export function trafficRanges(weights: ReadonlyMap<number, number>): TrafficRange[] {
  const entries = [...weights].filter(([, w]) => w > 0).sort(([a], [b]) => a - b);
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  if (total === 0) return [];
  const shares = entries.map(([version, weight]) => {
    const exact = (weight * TRAFFIC_BUCKETS) / total;
    return { version, buckets: Math.floor(exact), remainder: exact - Math.floor(exact) };
  });
  let left = TRAFFIC_BUCKETS - shares.reduce((sum, s) => sum + s.buckets, 0);
  for (const share of [...shares].sort((a, b) => b.remainder - a.remainder || a.version - b.version)) {
    if (left === 0) break;
    share.buckets++;
    left--;
  }
  const ranges: TrafficRange[] = [];
  let from = 0;
  for (const { version, buckets } of shares) {
    if (buckets === 0) continue;
    ranges.push({ version, from, to: from + buckets - 1 });
    from += buckets;
  }
  return ranges;
}
