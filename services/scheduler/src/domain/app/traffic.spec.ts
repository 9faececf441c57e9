import { rebalance } from './traffic';

describe('rebalance', () => {
  it('gives the first running version everything and a newly running one nothing', () => {
    expect(rebalance({}, [1])).toEqual({ 1: 10_000 });
    expect(rebalance({ 1: 10_000 }, [1, 2])).toEqual({ 1: 10_000, 2: 0 });
  });

  it('moves a stopped version’s share to the others in proportion, exactly', () => {
    expect(rebalance({ 1: 8000, 2: 2000 }, [2])).toEqual({ 2: 10_000 });
    expect(rebalance({ 1: 5000, 2: 2500, 3: 2500 }, [2, 3])).toEqual({ 2: 5000, 3: 5000 });
    const thirds = rebalance({ 1: 1, 2: 3333, 3: 3333, 4: 3333 }, [2, 3, 4]);
    expect(Object.values(thirds).reduce((a, b) => a + b, 0)).toBe(10_000);
  });

  it('sends everything to the newest running version when the running ones had no weight', () => {
    expect(rebalance({ 1: 10_000, 2: 0, 3: 0 }, [2, 3])).toEqual({ 2: 0, 3: 10_000 });
    expect(rebalance({ 1: 10_000 }, [])).toEqual({});
  });
});
