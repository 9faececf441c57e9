import { connectTestNats, deleteStreams, httpJson } from '@pier/testing';
import { type Platform, startPlatform } from './platform';

/**
 * Login throttling, on a platform of its own: the failures it provokes from 127.0.0.1 would lock every
 * other test's logins out for the window.
 */
describe('login throttling', () => {
  let platform: Platform;
  const user = { email: 'dave@example.com', password: 'a long and ordinary passphrase' };

  beforeAll(async () => {
    platform = await startPlatform('throttle');
    const admin = await platform.login(platform.admin.email, platform.admin.password);
    expect((await platform.call(admin, 'POST', '/users', { ...user, displayName: 'Dave' })).status).toBe(201);
  });

  afterAll(async () => {
    await platform?.stop();
    const nc = await connectTestNats();
    await deleteStreams(nc, platform.prefix);
    await nc.close();
  });

  const login = (password: string, email = user.email) =>
    httpJson<{ error?: { code: string } }>('POST', `${platform.api}/auth/login`, { email, password });

  it('resets the count on a successful login, then answers the 6th failure in the window with 429 and Retry-After', async () => {
    for (let i = 0; i < 4; i++) expect((await login('wrong password')).status).toBe(401);
    expect((await login(user.password)).status).toBe(200); // resets the count

    for (let i = 1; i <= 5; i++) {
      const reply = await login(`wrong password ${i}`);
      expect(reply).toMatchObject({ status: 401, body: { error: { code: 'INVALID_CREDENTIALS' } } });
    }
    const sixth = await login('wrong password 6');
    expect(sixth.status).toBe(429);
    expect(sixth.body.error?.code).toBe('RATE_LIMITED');
    const retryAfter = Number(sixth.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // Even the right password waits out the window.
    expect((await login(user.password)).status).toBe(429);
  });

  it('throttles the address too: other accounts from it are refused as well', async () => {
    const reply = await login('whatever', platform.admin.email);
    expect(reply.status).toBe(429);
    expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
