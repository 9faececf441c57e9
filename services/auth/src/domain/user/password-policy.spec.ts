import { passwordProblems } from './password-policy';
import { personalSpaceName } from './personal-space-name';

describe('passwordProblems', () => {
  const email = 'ada.lovelace@example.com';

  it.each([
    ['short', 'must be at least 12 characters'],
    ['aaaaaaaaaaaaaaaa', 'must use at least 4 different characters'],
    ['Password1234', 'is a well-known password'],
    ['my ada.lovelace pass', 'must not contain the email address'],
  ])('refuses %j: %s', (password, problem) => {
    expect(passwordProblems(password, { email })).toContain(problem);
  });

  it('accepts a long, ordinary passphrase', () => {
    expect(passwordProblems('correct horse battery staple', { email })).toEqual([]);
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
