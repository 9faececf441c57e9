import { z } from 'zod';
import { UNPAIRED_SURROGATE } from './ill-formed-text';

/**
 * Text that events carry is partly a tenant's: probe paths and commands quoted in an instance's reason,
 * the output of an exec probe, the path parameters of a refused request in the audit log. Those events
 * are stored as JSON, projected into PostgreSQL (whose text refuses NUL: one such event would stall the
 * projection for every tenant) and shown in terminals and browsers (where escape sequences and
 * bidirectional overrides act). Control characters other than tab and newline, bidirectional-formatting
 * characters and unpaired surrogates are therefore written as escapes (`\u0000`, `\u001b`), and the
 * text is cut to the length its event allows.
 */

const UNSAFE =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const escape = (char: string) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `text` safe to store and show, at most `max` characters (cut ones end with "…"). */
export function storableText(text: string, max: number): string {
  const safe = text.replace(UNSAFE, escape);
  if (safe.length <= max) return safe;
  let cut = safe.slice(0, max - 1);
  // Never leave half of a surrogate pair at the end.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_OR_BIDI = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * A one-line name shown to people (a display name, a token's name, a description): trimmed, `min` to `max`
 * characters, without control characters (CR/LF would forge lines in logs and terminals), bidirectional
 * overrides (which make text read differently than it is) or unpaired surrogates.
 */
export const plainText = (max: number, min = 1) =>
  z
    .string()
    .trim()
    .min(min)
    .max(max)
    .refine(
      (v) => !CONTROL_OR_BIDI.test(v),
      'must not contain control or bidirectional-formatting characters',
    )
    .refine((v) => !UNPAIRED_SURROGATE.test(v), 'must be well-formed Unicode (no unpaired surrogate)');
