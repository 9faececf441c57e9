/**
 * Bearer credentials handed to people: `pat_<tokenId>_<secret>` (personal API token) and
 * `prt_<sessionId>_<secret>` (refresh token). Only the SHA-256 of a secret is ever stored.
 */
export type CredentialKind = 'pat' | 'prt';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const FORMAT = new RegExp(`^(pat|prt)_(${UUID})_([A-Za-z0-9_-]{32,128})$`);

export function formatCredential(kind: CredentialKind, id: string, secret: string): string {
  return `${kind}_${id}_${secret}`;
}

export function parseCredential(text: string): { kind: CredentialKind; id: string; secret: string } | null {
  const m = FORMAT.exec(text.trim());
  return m ? { kind: m[1] as CredentialKind, id: m[2]!, secret: m[3]! } : null;
}

/** Compares two hex digests without an early exit. */
export function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
