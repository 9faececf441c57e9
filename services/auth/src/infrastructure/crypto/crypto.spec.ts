import { Hs256AccessTokens } from './hs256.access-tokens';
import { ScryptPasswordHasher } from './scrypt.password-hasher';

describe('Hs256AccessTokens', () => {
  const tokens = new Hs256AccessTokens(Buffer.alloc(32, 1), 900);
  const now = '2026-01-01T00:00:00.000Z';
  const subject = { userId: 'u-1', sessionId: 's-1' };

  it('verifies what it issued until it expires', () => {
    const { token, expiresIn } = tokens.issue(subject, now);
    expect(expiresIn).toBe(900);
    expect(tokens.verify(token, now)).toEqual({ ...subject, expiresAt: '2026-01-01T00:15:00.000Z' });
    expect(tokens.verify(token, '2026-01-01T00:15:00.000Z')).toEqual({
      problem: 'the access token has expired; refresh it',
    });
  });

  it('refuses tampered, foreign and malformed tokens', () => {
    const { token } = tokens.issue(subject, now);
    const [h, p] = token.split('.');
    const forgedPayload = Buffer.from(
      JSON.stringify({ iss: 'pier', sub: 'admin', sid: 's-1', iat: 0, exp: 9e9 }),
    ).toString('base64url');
    expect(tokens.verify(`${h}.${forgedPayload}.${token.split('.')[2]}`, now)).toHaveProperty('problem');
    expect(new Hs256AccessTokens(Buffer.alloc(32, 2), 900).verify(token, now)).toHaveProperty('problem');
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
    expect(tokens.verify(none, now)).toHaveProperty('problem');
    expect(tokens.verify('garbage', now)).toHaveProperty('problem');
  });
});

describe('ScryptPasswordHasher', () => {
  const hasher = new ScryptPasswordHasher({ logN: 10, r: 8, p: 1 });

  it('hashes with a salt and verifies only the right password', async () => {
    const a = await hasher.hash('correct horse battery staple');
    const b = await hasher.hash('correct horse battery staple');
    expect(a).toMatch(/^scrypt\$10\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(await hasher.verify('correct horse battery staple', a)).toBe(true);
    expect(await hasher.verify('Correct horse battery staple', a)).toBe(false);
    expect(await hasher.verify('anything', 'not-a-hash')).toBe(false);
  });
});
