/** Passwords people pick first; refused whatever their length. */
const COMMON = new Set([
  'password1234',
  'password12345',
  'password123456',
  '123456789012',
  '1234567890123',
  'qwertyuiop12',
  'qwertyuiop123',
  'letmein12345',
  'administrator',
  'administrator1',
  'changeme1234',
  'welcome12345',
  'iloveyou1234',
]);

export const MIN_PASSWORD_LENGTH = 12;

/**
 * What is wrong with a new password, empty when nothing is. Length first (NIST 800-63B: length beats
 * composition rules), then the obvious: one repeated character, a well-known password, the email itself.
 */
export function passwordProblems(password: string, context: { email: string }): string[] {
  const problems: string[] = [];
  if ([...password].length < MIN_PASSWORD_LENGTH)
    problems.push(`must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > 0 && new Set(password).size < 4)
    problems.push('must use at least 4 different characters');
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) problems.push('is a well-known password');
  const local = context.email.toLowerCase().split('@')[0] ?? '';
  if (lower === context.email.toLowerCase() || (local.length >= 4 && lower.includes(local))) {
    problems.push('must not contain the email address');
  }
  return problems;
}
