import fc from 'fast-check';
import { plainText, storableText as reportable } from './text';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('storableText', () => {
  it('writes control, bidi and unpaired surrogate characters as escapes, keeping tabs, newlines and unicode', () => {
    expect(reportable('GET http://127.0.0.1:1/a\r\nb\u0000: \u001b[31mred\u007f\u0085', 1000)).toBe(
      'GET http://127.0.0.1:1/a\\u000d\nb\\u0000: \\u001b[31mred\\u007f\\u0085',
    );
    expect(reportable('tab\there é 😀 \u202egnp \ud800x \udc00', 1000)).toBe(
      'tab\there é 😀 \\u202egnp \\ud800x \\udc00',
    );
  });

  it('cuts to the limit without leaving half a surrogate pair', () => {
    expect(reportable('abcdef', 4)).toBe('abc…');
    expect(reportable('ab😀def', 4)).toBe('ab…');
    expect(reportable('\u0000\u0000', 7)).toBe('\\u0000…');
  });

  it('always gives text PostgreSQL and JSON take, within the limit (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
        ),
        fc.integer({ min: 2, max: 200 }),
        (text, max) => {
          const out = reportable(text, max);
          expect(out.length).toBeLessThanOrEqual(max);
          expect(out.includes('\u0000')).toBe(false);
          expect(LONE_SURROGATE.test(out)).toBe(false);
          expect(JSON.parse(JSON.stringify(out))).toBe(out);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('plainText', () => {
  const name = plainText(100);

  it('refuses line breaks, control characters, bidirectional overrides and unpaired surrogates', () => {
    for (const bad of ['Alice\r\nAdmin: yes', 'tab\there', 'esc \u001b[31m', 'evil\u202egnp.exe', 'x\ud800'])
      expect([bad, name.safeParse(bad).success]).toEqual([bad, false]);
  });

  it('takes ordinary names in any script, trimmed', () => {
    expect(name.parse('  Zoë 王 😀 Team ')).toBe('Zoë 王 😀 Team');
    expect(plainText(10, 0).parse('')).toBe('');
  });
});
