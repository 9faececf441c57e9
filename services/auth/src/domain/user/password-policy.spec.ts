import { ZxcvbnPasswordStrength } from '../../infrastructure/zxcvbn/zxcvbn.password-strength';
import { passwordProblems, userInputs } from './password-policy';
import { personalSpaceName } from './personal-space-name';

describe('passwordProblems (with the zxcvbn estimator)', () => {
  const user = { email: 'ada.lovelace@example.com', displayName: 'Ada Lovelace' };
  const estimator = new ZxcvbnPasswordStrength();
  const problems = (password: string) => passwordProblems(password, user, estimator);

  it('asks for 12 characters before anything else', () => {
    expect(problems('Zq8n-Kd02-L')).toEqual(['must be at least 12 characters']);
  });

  it.each(['passwordpassword', 'qwerty123456', 'Password1234', 'aaaaaaaaaaaaaaaa', 'abcdefghijkl1234'])(
    'refuses %j, long enough but among the first guesses',
    (password) => {
      expect(problems(password)).toEqual([expect.stringMatching(/^is too easy to guess/)]);
    },
  );

  it.each(['ada.lovelace@example.com', 'ada.lovelace2026', 'Ada Lovelace 2026'])(
    'refuses %j, strong for a stranger but made of the user’s own email or name',
    (password) => {
      expect(estimator.estimate(password, []).score).toBeGreaterThanOrEqual(3);
      expect(problems(password)).toEqual([expect.stringMatching(/^is too easy to guess/)]);
    },
  );

  it.each(['correct horse battery staple', 'a long and ordinary passphrase', 'Zq8n-Kd02-Lm4x'])(
    'accepts %j',
    (password) => {
      expect(problems(password)).toEqual([]);
    },
  );
});

describe('userInputs', () => {
  it('offers the email, its parts and the display name’s words to the estimator', () => {
    expect(userInputs({ email: 'Ada.Lovelace@Example.com', displayName: 'Ada King' })).toEqual([
      'ada.lovelace@example.com',
      'ada.lovelace',
      'ada',
      'lovelace',
      'example',
      'ada king',
      'king',
    ]);
  });
});

describe('personalSpaceName', () => {
  it('derives a DNS label from the email and numbers the next tries', () => {
    expect(personalSpaceName('Ada.Lovelace+pier@example.com', 0)).toBe('ada-lovelace-pier');
    expect(personalSpaceName('ada@example.com', 1)).toBe('ada-2');
    expect(personalSpaceName('___@example.com', 0)).toBe('user');
    expect(personalSpaceName(`${'x'.repeat(80)}@example.com`, 0)).toHaveLength(50);
  });
});
