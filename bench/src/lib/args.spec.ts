import { parseArgs, UsageError } from './args';

const sizes = { quick: { rounds: 5, mode: 'a' }, default: { rounds: 30, mode: 'a' } };

describe('parseArgs', () => {
  it('takes the default size unless --quick is given', () => {
    expect(parseArgs([], sizes)).toEqual({ size: 'default', params: { rounds: 30, mode: 'a' } });
    expect(parseArgs(['--quick'], sizes)).toEqual({ size: 'quick', params: { rounds: 5, mode: 'a' } });
  });

  it('overrides a parameter with --name=value or --name value, converting numbers', () => {
    expect(parseArgs(['--quick', '--rounds=7', '--mode', 'b'], sizes).params).toEqual({
      rounds: 7,
      mode: 'b',
    });
  });

  it('accepts kebab-case names for camelCase parameters', () => {
    expect(
      parseArgs(['--step-seconds=3'], { quick: { stepSeconds: 1 }, default: { stepSeconds: 2 } }).params,
    ).toEqual({
      stepSeconds: 3,
    });
  });

  it('refuses unknown options, stray arguments, missing and non-numeric values', () => {
    expect(() => parseArgs(['--roundz=3'], sizes)).toThrow(
      new UsageError('unknown option --roundz; known: --quick --rounds --mode'),
    );
    expect(() => parseArgs(['fast'], sizes)).toThrow(UsageError);
    expect(() => parseArgs(['--rounds'], sizes)).toThrow('--rounds needs a value');
    expect(() => parseArgs(['--rounds=many'], sizes)).toThrow(
      '--rounds must be a non-negative number, got "many"',
    );
    expect(() => parseArgs(['--rounds=-1'], sizes)).toThrow(UsageError);
  });
});
