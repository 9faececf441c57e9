/**
 * Scores how hard a password is to guess, from 0 (among the first guesses) to 4 (very hard), knowing the
 * words its owner is known by. A port: the estimator (zxcvbn) loads large dictionaries.
 */
export interface PasswordStrengthEstimator {
  estimate(
    password: string,
    userInputs: readonly string[],
  ): { readonly score: 0 | 1 | 2 | 3 | 4; readonly warning: string | null };
}

export const MIN_PASSWORD_LENGTH = 12;
/** zxcvbn's "safely unguessable: moderate protection from offline slow-hash scenario". */
export const MIN_PASSWORD_SCORE = 3;

/** What the user is known by, in the pieces a guesser would try: email, its parts, display name, its words. */
export function userInputs(context: { email: string; displayName: string }): string[] {
  const email = context.email.trim().toLowerCase();
  const [local = '', domain = ''] = email.split('@');
  const words = (text: string) => text.split(/[^\p{L}\p{N}]+/u).filter((w) => w.length >= 3);
  const name = context.displayName.trim().toLowerCase();
  return [
    ...new Set([email, local, ...words(local), ...words(domain.split('.')[0] ?? ''), name, ...words(name)]),
  ].filter((w) => w.length > 0);
}

/**
 * What is wrong with a new password, empty when nothing is. Length first (NIST 800-63B: length beats
 * composition rules), then how guessable it is — dictionaries, keyboard patterns, repeats and the user's
 * own email and name — as a well-kept estimator scores it.
 */
export function passwordProblems(
  password: string,
  context: { email: string; displayName: string },
  estimator: PasswordStrengthEstimator,
): string[] {
  if ([...password].length < MIN_PASSWORD_LENGTH)
    return [`must be at least ${MIN_PASSWORD_LENGTH} characters`];
  const { score, warning } = estimator.estimate(password, userInputs(context));
  if (score >= MIN_PASSWORD_SCORE) return [];
  return [`is too easy to guess${warning ? ` (${warning.replace(/\.$/, '').toLowerCase()})` : ''}`];
}
