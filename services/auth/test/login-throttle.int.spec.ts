import { randomBytes } from 'node:crypto';
import { Login, PierError, RegisterUser } from '@pier/contracts';
import { expectEventually } from '@pier/testing';
import { type AuthHarness, startAuth } from './auth-harness';

/**
 * Login throttling through the auth service's RPC surface, against real NATS and Postgres: five free
 * failures per account-and-address pair, then 1 s, 2 s, 4 s…; at most 12 failures per address.
 */
describe('login throttling (real NATS and Postgres)', () => {
  let auth: AuthHarness;
  const password = 'a long and ordinary passphrase';
  const users = { ada: 'ada@example.com', bob: 'bob@example.com', eve: 'eve@example.com' };

  beforeAll(async () => {
    auth = await startAuth('login-throttle', {
      PIER_LOGIN_FREE_FAILURES: '5',
      PIER_LOGIN_DELAY_BASE_S: '1',
      PIER_LOGIN_ADDRESS_MAX_FAILURES: '12',
    });
    for (const [name, email] of Object.entries(users)) {
      await auth.rpc.call(
        RegisterUser,
        { email, displayName: name, password, platformRole: 'user' },
        auth.caller,
      );
    }
  });

  afterAll(() => auth?.close());

  /** A login's outcome: `ok`, or the error code with the wait it asked for. */
  async function login(email: string, address: string, secret = `wrong ${randomBytes(4).toString('hex')}`) {
    try {
      await auth.rpc.call(Login, { email, password: secret, address }, auth.caller);
      return { code: 'ok', wait: 0 };
    } catch (error) {
      if (!(error instanceof PierError)) throw error;
      return { code: error.code, wait: Number(error.details?.retryAfterSeconds ?? 0) };
    }
  }
  const codes = (results: { code: string }[]) =>
    results.reduce<Record<string, number>>((n, r) => ({ ...n, [r.code]: (n[r.code] ?? 0) + 1 }), {});

  it('counts twenty parallel guesses before checking any: only the five free ones are evaluated', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => login(users.ada, '10.0.0.1')));
    expect(codes(results)).toEqual({ INVALID_CREDENTIALS: 5, RATE_LIMITED: 15 });
    // The wait is counted from each attempt's own start, which may precede the fifth failure a little.
    const waits = results.filter((r) => r.code === 'RATE_LIMITED').map((r) => r.wait);
    expect(waits.every((w) => w >= 1 && w <= 2)).toBe(true);
  });

  it('delays the pair progressively, and lets the right password in once the short wait is over', async () => {
    const address = '10.0.0.2';
    for (let i = 0; i < 5; i++) expect((await login(users.bob, address)).code).toBe('INVALID_CREDENTIALS');
    // Five failures do not lock the account: at most a second's wait, then the right password works.
    expect(await login(users.bob, address, password)).toEqual({ code: 'RATE_LIMITED', wait: 1 });
    await expectEventually(async () => expect((await login(users.bob, address, password)).code).toBe('ok'), {
      timeoutMs: 5_000,
      intervalMs: 250,
      what: 'the right password after the delay',
    });
    // The success reset that pair: failures are free again.
    expect((await login(users.bob, address)).code).toBe('INVALID_CREDENTIALS');
  });

  it('holds up only the attacker: the owner from another address and others at the same address log in', async () => {
    const attacker = '10.0.0.3';
    for (let i = 0; i < 8; i++) await login(users.eve, attacker);
    expect((await login(users.eve, attacker)).code).toBe('RATE_LIMITED');
    expect((await login(users.eve, '10.0.0.4', password)).code).toBe('ok');
    expect((await login(users.ada, attacker, password)).code).toBe('ok');
    // …and those successes reset nothing of the attacker's pair: its next failure is its sixth (2 s).
    await expectEventually(
      async () => expect((await login(users.eve, attacker)).code).toBe('INVALID_CREDENTIALS'),
      {
        timeoutMs: 5_000,
        intervalMs: 100,
        what: "the attacker's next evaluated guess",
      },
    );
    expect(await login(users.eve, attacker)).toEqual({ code: 'RATE_LIMITED', wait: 2 });
  });

  it('caps an address over every account, and a success there does not reset its count', async () => {
    const address = '10.0.0.5';
    const stranger = (i: number) => `nobody-${i}@example.com`;
    // Eleven failures over four accounts: no pair reaches its delay.
    for (let i = 0; i < 11; i++)
      expect((await login(stranger(i % 4), address)).code).toBe('INVALID_CREDENTIALS');
    // The attacker's own account logs in fine: it is forgiven its own attempt, not the others.
    expect((await login(users.ada, address, password)).code).toBe('ok');
    expect((await login(stranger(4), address)).code).toBe('INVALID_CREDENTIALS');
    const capped = await login(stranger(5), address);
    expect(capped.code).toBe('RATE_LIMITED');
    expect(capped.wait).toBeGreaterThan(800);
    expect((await login(users.ada, address, password)).code).toBe('RATE_LIMITED');
    expect((await login(users.ada, '10.0.0.6', password)).code).toBe('ok');
  });
});
