/**
 * Text an instance's events carry is partly the tenant's: probe paths and commands quoted in a reason,
 * the output of an exec probe, an engine's message about their command. Those events are stored as JSON,
 * projected into PostgreSQL (whose text refuses NUL: one such event would stall the projection for every
 * tenant) and shown in terminals (where escape sequences act). Control characters other than tab and
 * newline, bidirectional-formatting characters and unpaired surrogates are therefore written as escapes
 * (`\u0000`, `\u001b`), and the text is cut to the length its event allows.
 */

const UNSAFE =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const escape = (char: string) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `text` safe to store and show, at most `max` characters (cut ones end with "…"). */
export function reportable(text: string, max: number): string {
  const safe = text.replace(UNSAFE, escape);
  if (safe.length <= max) return safe;
  let cut = safe.slice(0, max - 1);
  // Never leave half of a surrogate pair at the end.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}
