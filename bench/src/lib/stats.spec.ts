import { percentile, ratio, round, summarize } from './stats';

describe('stats', () => {
  it('takes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarizes an unsorted sample', () => {
    expect(summarize([30, 10, 20, 40])).toEqual({
      n: 4,
      min: 10,
      p50: 20,
      p90: 40,
      p99: 40,
      max: 40,
      mean: 25,
    });
  });

  it('gives ratios to two decimals, NaN without a baseline', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(1, 3)).toBe(0.33);
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(Number.NaN, 2)).toBeNaN();
  });

  it('rounds to three significant digits below 100 and to integers above', () => {
    expect(round(0.123456)).toBe(0.123);
    expect(round(12.345)).toBe(12.3);
    expect(round(1234.5)).toBe(1235);
  });
});
