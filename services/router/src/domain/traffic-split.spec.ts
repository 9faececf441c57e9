import { runtime } from '../../test/support/runtime-events';
import { emptyRouteTable, evolve } from './route-table';
import { routableWeights, TRAFFIC_BUCKETS, trafficRanges } from './traffic-split';

const split = (weights: Record<number, number>) =>
  trafficRanges(new Map(Object.entries(weights).map(([v, w]) => [Number(v), w])));
const size = (r: { from: number; to: number }) => r.to - r.from + 1;

describe('traffic split', () => {
  it('maps weights in hundredths to bucket ranges one to one', () => {
    expect(split({ 1: 8000, 2: 2000 })).toEqual([
      { version: 1, from: 0, to: 7999 },
      { version: 2, from: 8000, to: 9999 },
    ]);
  });

  it('has a granularity of 0.01 %: one bucket', () => {
    expect(split({ 3: 9999, 7: 1 })).toEqual([
      { version: 3, from: 0, to: 9998 },
      { version: 7, from: 9999, to: 9999 },
    ]);
  });

  it('gives a version at 0 no range at all', () => {
    const ranges = split({ 1: 10000, 2: 0 });
    expect(ranges).toEqual([{ version: 1, from: 0, to: 9999 }]);
    expect(split({ 1: 0 })).toEqual([]);
  });

  it('covers every bucket exactly once for any weights summing to 10000', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 500; round++) {
      const count = 1 + Math.floor(random() * 5);
      const cuts = Array.from({ length: count - 1 }, () => Math.floor(random() * (TRAFFIC_BUCKETS + 1))).sort(
        (a, b) => a - b,
      );
      const bounds = [0, ...cuts, TRAFFIC_BUCKETS];
      const weights = Object.fromEntries(bounds.slice(1).map((b, i) => [i + 1, b - bounds[i]!]));
      const ranges = split(weights);
      expect(ranges[0]?.from).toBe(0);
      expect(ranges[ranges.length - 1]?.to).toBe(TRAFFIC_BUCKETS - 1);
      ranges.forEach((r, i) => {
        if (i > 0) expect(r.from).toBe(ranges[i - 1]!.to + 1);
        expect(size(r)).toBe(weights[r.version]);
      });
      expect(ranges.map((r) => r.version)).toEqual(
        Object.keys(weights)
          .map(Number)
          .filter((v) => weights[v]! > 0),
      );
    }
  });

  it('hands the share of an unroutable version to the others in proportion (largest remainder)', () => {
    expect(split({ 1: 5000, 2: 3000 }).map(size)).toEqual([6250, 3750]);
    const thirds = split({ 1: 1, 2: 2, 3: 3 });
    expect(thirds.map(size)).toEqual([1667, 3333, 5000]);
    expect(thirds.reduce((sum, r) => sum + size(r), 0)).toBe(TRAFFIC_BUCKETS);
  });

  it('routes only to weighted versions the router knows that have an http port', () => {
    const table = [
      runtime.appCreated('acme', 'web'),
      runtime.versionCreated('acme', 'web', 1),
      runtime.versionCreated('acme', 'web', 2, [{ containerPort: 5432, protocol: 'tcp' }]),
      runtime.versionCreated('acme', 'web', 3),
      runtime.trafficSet('acme', 'web', { 1: 50, 2: 30, 3: 0, 4: 20 }),
    ].reduce(evolve, emptyRouteTable());
    expect([...routableWeights(table.apps.get('acme_web')!)]).toEqual([[1, 5000]]);
  });
});
