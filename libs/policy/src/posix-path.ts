/**
 * Normalises a POSIX path lexically, without touching the filesystem: collapses repeated slashes, drops
 * `.` segments and trailing slashes, and resolves `..` against the preceding segment (`..` at the root
 * stays at the root, as the kernel does). Symlinks cannot be resolved this way, so callers must not treat
 * the result as the real host path — only as the canonical spelling of the path as written.
 */
export function normalizePosixPath(path: string): string {
  const absolute = path.startsWith('/');
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.length > 0 && segments[segments.length - 1] !== '..') segments.pop();
      else if (!absolute) segments.push('..');
      continue;
    }
    segments.push(segment);
  }
  const joined = segments.join('/');
  if (absolute) return `/${joined}`;
  return joined === '' ? '.' : joined;
}
