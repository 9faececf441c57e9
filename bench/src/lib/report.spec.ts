import { formatTable } from './report';

describe('formatTable', () => {
  it('prints one aligned row per figure, with baseline and ratio when there is one', () => {
    const table = formatTable([
      {
        name: 'deploy p50',
        value: 384.4,
        unit: 'ms',
        baseline: { name: 'docker run p50', value: 293 },
        ratio: 1.31,
      },
      { name: 'overhead', value: 91.24, unit: 'ms' },
      { name: 'unmeasured', value: Number.NaN, unit: 'ms' },
    ]).split('\n');
    expect(table).toHaveLength(5);
    expect(table[2]).toMatch(/^deploy p50\s+384\s+ms\s+docker run p50\s+293\s+1\.31$/);
    expect(table[3]).toMatch(/^overhead\s+91\.2\s+ms\s*$/);
    expect(table[4]).toMatch(/^unmeasured\s+n\/a\s+ms\s*$/);
    expect(new Set(table.map((line) => line.trimEnd().length <= table[0]!.length)).has(false)).toBe(false);
  });
});
