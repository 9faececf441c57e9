import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary as commonDictionary } from '@zxcvbn-ts/language-common';
import { dictionary as englishDictionary, translations } from '@zxcvbn-ts/language-en';
import { type PasswordStrengthEstimator } from '../../domain/user/password-policy';

/**
 * Password strength by zxcvbn-ts with its common and English dictionaries. Building the matcher takes
 * about a second of CPU, so it happens on the first estimate, not when the service is wired. Only the
 * first 128 characters are scored: matching is superlinear in length, and a password that long is not
 * weak for what follows.
 */
export class ZxcvbnPasswordStrength implements PasswordStrengthEstimator {
  private zxcvbn?: ZxcvbnFactory;

  estimate(password: string, userInputs: readonly string[]) {
    this.zxcvbn ??= new ZxcvbnFactory({
      translations,
      graphs: adjacencyGraphs,
      dictionary: { ...commonDictionary, ...englishDictionary },
      maxLength: 128,
    });
    const result = this.zxcvbn.check(password, [...userInputs]);
    return { score: result.score, warning: result.feedback.warning ?? null };
  }
}
