/**
 * Candidate names of a user's personal space, from the local part of their email: `ada`, `ada-2`,
 * `ada-3`… The first free one is taken.
 */
export function personalSpaceName(email: string, attempt: number): string {
  const local = (email.split('@')[0] ?? '').toLowerCase();
  const base =
    local
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 50)
      .replace(/-+$/, '') || 'user';
  return attempt === 0 ? base : `${base}-${attempt + 1}`;
}
