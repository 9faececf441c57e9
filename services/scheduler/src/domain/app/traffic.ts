/**
 * Traffic weights in hundredths of a percent (10000 = 100 %), per version number.
 *
 * After a version starts or stops running, weights follow these rules: a version that no longer runs
 * keeps no weight; its share goes to the running versions in proportion to their weights, or all to the
 * newest running version when none of them has any; the first version to run gets everything. A newly
 * running version next to one that already takes traffic gets 0 — shifting traffic is an explicit act.
 */
export function rebalance(
  weights: Readonly<Record<number, number>>,
  running: readonly number[],
): Record<number, number> {
  if (running.length === 0) return {};
  const kept = Object.fromEntries(running.map((v) => [v, weights[v] ?? 0]));
  const total = Object.values(kept).reduce((a, b) => a + b, 0);
  if (total === 0) {
    const newest = Math.max(...running);
    return Object.fromEntries(running.map((v) => [v, v === newest ? 10_000 : 0]));
  }
  if (total === 10_000) return kept;
  // Scale the remaining weights up to 10000, largest remainders first so the sum is exact.
  const scaled = running.map((v) => ({ v, exact: (kept[v]! * 10_000) / total }));
  const result = Object.fromEntries(scaled.map(({ v, exact }) => [v, Math.floor(exact)]));
  let missing = 10_000 - Object.values(result).reduce((a, b) => a + b, 0);
  for (const { v } of [...scaled].sort((a, b) => (b.exact % 1) - (a.exact % 1) || b.v - a.v)) {
    if (missing === 0) break;
    result[v]! += 1;
    missing--;
  }
  return result;
}

/** Percent (two decimals) → hundredths. */
export const toHundredths = (percent: number): number => Math.round(percent * 100);

export function sameWeights(
  a: Readonly<Record<number, number>>,
  b: Readonly<Record<number, number>>,
): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => (a[Number(k)] ?? 0) === (b[Number(k)] ?? 0));
}
