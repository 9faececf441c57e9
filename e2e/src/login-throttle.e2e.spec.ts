import { connectTestNats, deleteStreams, expectEventually } from '@pier/testing';
import { loginFrom } from './hostile/client-address';
import { type Platform, startPlatform } from './platform';

/**
 * Login throttling, on a platform of its own (an address ceiling of 12 failures, to reach it quickly):
 * per account and address, five free failures, then 1 s, 2 s, 4 s… before the next attempt; per
 * address, at most 12 failures over every account in 15 minutes. Each test speaks from its own
 * loopback address.
 */
describe('login throttling', () => {
  let platform: Platform;
  const dave = { email: 'dave@example.com', password: 'a long and ordinary passphrase' };
  const erin = { email: 'erin@example.com', password: 'another long and ordinary passphrase' };

  beforeAll(async () => {
    platform = await startPlatform('throttle', { PIER_LOGIN_ADDRESS_MAX_FAILURES: '12' });
    const admin = await platform.login(platform.admin.email, platform.admin.password);
    for (const [user, name] of [
      [dave, 'Dave'],
      [erin, 'Erin'],
    ] as const) {
      expect((await platform.call(admin, 'POST', '/users', { ...user, displayName: name })).status).toBe(201);
    }
  });

  afterAll(async () => {
    await platform?.stop();
    const nc = await connectTestNats();
    await deleteStreams(nc, platform.prefix);
    await nc.close();
  });

  const login = (address: string, password: string, email = dave.email) =>
    loginFrom(platform.api, address, email, password);
  const afterWait = (address: string, password: string, status: number) =>
    expectEventually(async () => expect((await login(address, password)).status).toBe(status), {
      timeoutMs: 10_000,
      intervalMs: 200,
      what: `login answering ${status}`,
    });

  it('delays a pair more with each failure beyond the free ones, and a success resets it', async () => {
    const address = '127.0.0.31';
    for (let i = 1; i <= 5; i++) {
      const reply = await login(address, `wrong password ${i}`);
      expect(reply).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS' });
    }
    expect(await login(address, 'wrong password 6')).toMatchObject({
      status: 429,
      code: 'RATE_LIMITED',
      retryAfter: 1,
    });
    await afterWait(address, 'wrong password 6', 401);
    expect(await login(address, 'wrong password 7')).toMatchObject({ status: 429, retryAfter: 2 });
    await afterWait(address, dave.password, 200);
    // The success forgot the pair's failures: the next ones are free again.
    expect((await login(address, 'wrong password 8')).status).toBe(401);
    expect((await login(address, 'wrong password 9')).status).toBe(401);
  });

  it('delays only that pair: other accounts from the address and the account from elsewhere log in', async () => {
    const address = '127.0.0.32';
    for (let i = 0; i < 7; i++) await login(address, 'wrong password');
    expect((await login(address, 'wrong password')).status).toBe(429);
    expect((await login(address, erin.password, erin.email)).status).toBe(200);
    expect((await login('127.0.0.33', dave.password)).status).toBe(200);
  });

  it('caps the failures of one address over every account, answering 429 with Retry-After', async () => {
    const address = '127.0.0.34';
    // Three failures for each of four accounts: no pair is delayed, the address reaches its ceiling.
    for (let i = 0; i < 12; i++) {
      const email = [dave.email, erin.email, 'nobody@example.com', 'noone@example.com'][i % 4]!;
      expect((await login(address, 'wrong password', email)).status).toBe(401);
    }
    const capped = await login(address, erin.password, erin.email);
    expect(capped).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(capped.retryAfter).toBeGreaterThan(0);
    expect(capped.retryAfter).toBeLessThanOrEqual(15 * 60);
    expect((await login('127.0.0.35', erin.password, erin.email)).status).toBe(200);
  });
});
