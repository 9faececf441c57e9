/**
 * Command-line options of a benchmark: `--quick` picks the small size, `--name=value` (or `--name value`)
 * overrides one parameter. Unknown options are an error, so a typo never silently measures the default.
 */
export type Size = 'quick' | 'default';

export interface ParsedArgs<P extends Record<string, number | string>> {
  readonly size: Size;
  readonly params: P;
}

export class UsageError extends Error {}

export function parseArgs<P extends Record<string, number | string>>(
  argv: readonly string[],
  sizes: Record<Size, P>,
): ParsedArgs<P> {
  let size: Size = 'default';
  const overrides: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') {
      size = 'quick';
      continue;
    }
    const match = /^--([a-zA-Z][\w-]*)(?:=(.*))?$/.exec(arg);
    if (!match) throw new UsageError(`unexpected argument "${arg}"`);
    const key = match[1]!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    let value = match[2];
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`--${match[1]} needs a value`);
    }
    overrides[key] = value;
  }
  const params: Record<string, number | string> = { ...sizes[size] };
  for (const [key, text] of Object.entries(overrides)) {
    if (!(key in params)) {
      throw new UsageError(
        `unknown option --${key}; known: --quick ${Object.keys(params)
          .map((k) => `--${k}`)
          .join(' ')}`,
      );
    }
    if (typeof params[key] === 'number') {
      const value = Number(text);
      if (!Number.isFinite(value) || value < 0)
        throw new UsageError(`--${key} must be a non-negative number, got "${text}"`);
      params[key] = value;
    } else {
      params[key] = text;
    }
  }
  return { size, params: params as P };
}
