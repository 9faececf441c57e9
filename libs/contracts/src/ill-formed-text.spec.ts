import fc from 'fast-check';
import { findIllFormedText } from './ill-formed-text';

/** JSON-like values whose strings and keys are well-formed Unicode without NUL. */
const storable = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\u0000')),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\u0000')),
      tie('value'),
      { maxKeys: 4 },
    ),
  ),
})).value;

describe('findIllFormedText', () => {
  it('accepts every value whose strings and keys are well-formed and NUL-free', () => {
    fc.assert(fc.property(storable, (value) => expect(findIllFormedText(value)).toBeNull()));
  });

  it.each([
    ['a NUL in a nested value', { env: { A: 'x\u0000y' } }, 'env.A', 'NUL character'],
    ['a NUL in a key', { env: { 'A\u0000': 'x' } }, 'env."A\\u0000"', 'NUL character'],
    ['a lone high surrogate', { name: 'a\ud800' }, 'name', 'unpaired surrogate'],
    ['a lone low surrogate in an array', { items: ['ok', '\udc00b'] }, 'items.1', 'unpaired surrogate'],
    ['a reversed pair', ['\udc00\ud800'], '0', 'unpaired surrogate'],
    ['the value itself', '\u0000', '', 'NUL character'],
  ])('finds %s', (_what, value, path, problem) => {
    expect(findIllFormedText(value)).toEqual({ path, problem });
  });

  it('keeps a proper surrogate pair (an emoji)', () => {
    expect(findIllFormedText({ name: 'ship 🚢', '🚢': ['\ud83d\udea2'] })).toBeNull();
  });

  it('finds a NUL inserted anywhere in any string of a storable value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.nat(), (text, at) => {
        const i = at % (text.length + 1);
        const found = findIllFormedText({ deep: [{ text: `${text.slice(0, i)}\u0000${text.slice(i)}` }] });
        expect(found).toEqual({ path: 'deep.0.text', problem: 'NUL character' });
      }),
    );
  });

  it('refuses nesting deeper than the limit without overflowing the stack', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(findIllFormedText(deep, 32)).toMatchObject({ problem: 'nested too deeply' });
    let ok: unknown = 'leaf';
    for (let i = 0; i < 32; i++) ok = { a: ok };
    expect(findIllFormedText(ok, 32)).toBeNull();
  });
});
