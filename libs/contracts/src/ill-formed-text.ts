/** Why a value cannot be stored: where in it, and what is wrong there. */
export interface IllFormedText {
  /** Dotted path to the offending string or key (`env.A`, `items.3`); empty for the value itself. */
  readonly path: string;
  readonly problem: 'NUL character' | 'unpaired surrogate' | 'nested too deeply';
}

/** Lone high surrogate (not followed by a low one), or lone low surrogate (not preceded by a high one). */
export const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function problemOf(text: string): IllFormedText['problem'] | null {
  if (text.includes('\u0000')) return 'NUL character';
  return UNPAIRED_SURROGATE.test(text) ? 'unpaired surrogate' : null;
}

/**
 * The first string (value or object key) in `value` that Postgres cannot store — text and jsonb refuse
 * U+0000, and an unpaired surrogate is not Unicode at all — or the first container nested deeper than
 * `maxDepth`. `null` when everything is storable. Iterative, so a hostile depth cannot overflow the stack.
 */
export function findIllFormedText(value: unknown, maxDepth = 64): IllFormedText | null {
  const stack: { value: unknown; path: string[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      const problem = problemOf(current);
      if (problem) return { path: shown(path), problem };
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (path.length >= maxDepth) return { path: shown(path), problem: 'nested too deeply' };
    for (const [key, child] of Object.entries(current)) {
      const problem = problemOf(key);
      // the key is shown escaped: it may hold exactly what cannot be shown or stored
      if (problem) return { path: shown([...path, JSON.stringify(key)]), problem };
      stack.push({ value: child, path: [...path, key] });
    }
  }
  return null;
}

const shown = (path: readonly string[]) =>
  path.map((p) => (p.length > 64 ? `${p.slice(0, 64)}…` : p)).join('.');
