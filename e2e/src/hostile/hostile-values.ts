/** Strings no input should survive unharmed, as JavaScript strings. */
export const HOSTILE_TEXT = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00',
  '\udc00\ud800',
  '../../../etc/passwd',
  '..',
  'a\r\nX-Injected: 1',
  '1e309',
  '-0',
  'NaN',
  'Infinity',
  '0x10',
  ' 7',
  '+7',
  '07',
  '',
  ' ',
  'ünïcödé 🚢',
  '\u202eevil',
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '${jndi:ldap://x}',
  '%00',
  '\\',
  'x'.repeat(300),
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999+14:00',
  '2024-02-30T00:00:00Z',
];

/** Appended to a valid value: it stays valid for a lenient schema, and must still be refused. */
export const HOSTILE_SUFFIXES = ['\u0000', '\ud800', '\r\nX: 1', ' ', '\u202e'];

/** Already-encoded path or query values that are not UTF-8 or not valid percent-encoding at all. */
export const RAW_ENCODED = ['%', '%ZZ', '%C0%AF', '%ED%A0%80', '%FF', '..%2F..%2F..', '%2e%2e', 'a/b', ';x'];

/** JSON values of every type, for a field that expects one of them. */
export const WRONG_TYPES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  2 ** 53 + 1,
  '',
  'x',
  [],
  {},
  [null],
  { a: 1 },
];

/** Number literals that `JSON.stringify` cannot write: spliced into the JSON text as they are. */
export const RAW_NUMBERS = ['1e309', '-1e309', '-0', '1e-400', '123456789012345678901234567890', '0.1e1'];

/** Whole bodies sent as `application/json` that are not a JSON object, or not JSON. */
export const MALFORMED_BODIES = [
  '',
  '{',
  '{"a":',
  'null',
  '[]',
  '"s"',
  '1e309',
  '\ufeff{}',
  '{"__proto__":{"x":1}}',
  '{"constructor":{"prototype":{}}}',
];

export const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

const RAW_MARK = '\u0001raw\u0001';

/** JSON text spliced as it is where the value goes (numbers `JSON.stringify` cannot write, deep nesting). */
export class RawJson {
  constructor(readonly text: string) {}
  toJSON(): string {
    return `${RAW_MARK}${this.text}${RAW_MARK}`;
  }
}

/** `JSON.stringify`, with every `RawJson` written as its text. */
export function toJsonText(value: unknown): string {
  const mark = JSON.stringify(RAW_MARK).slice(1, -1);
  return JSON.stringify(value)
    .split(`"${mark}`)
    .map((part, i) => (i === 0 ? part : part.replace(`${mark}"`, '')))
    .join('');
}

/**
 * Percent-encodes any JavaScript string, lone surrogates included (as the three bytes generalized
 * UTF-8 gives them), which `encodeURIComponent` refuses to do.
 */
export function encodeAny(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    const paired = unit >= 0xd800 && unit < 0xdc00 && next >= 0xdc00 && next < 0xe000;
    const cp = paired ? 0x10000 + ((unit - 0xd800) << 10) + (next - 0xdc00) : unit;
    if (paired) i++;
    out += utf8(cp)
      .map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${hex(b)}`))
      .join('');
  }
  return out;
}

const hex = (b: number) => b.toString(16).toUpperCase().padStart(2, '0');

function utf8(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 63)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
}
