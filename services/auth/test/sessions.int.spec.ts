import { randomBytes } from 'node:crypto';
import { Authorize, Login, Logout, Refresh, RegisterUser, subjectsFor } from '@pier/contracts';
import { expectEventually, rejectedCode } from '@pier/testing';
import { type AuthHarness, startAuth } from './auth-harness';

/** Login sessions through the auth service's RPC surface, against real NATS and Postgres. */
describe('sessions (real NATS and Postgres)', () => {
  let auth: AuthHarness;
  const user = { email: 'sam@example.com', password: 'a long and ordinary passphrase' };

  beforeAll(async () => {
    // Sessions end 4 s after login, however often they are refreshed (the sliding TTL is a week).
    auth = await startAuth('sessions', { PIER_SESSION_MAX_LIFETIME_S: '4' });
    await auth.rpc.call(RegisterUser, { ...user, displayName: 'Sam', platformRole: 'user' }, auth.caller);
  });

  afterAll(() => auth?.close());

  const login = () => auth.rpc.call(Login, { ...user, address: '10.0.0.1' }, auth.caller);
  const refresh = (refreshToken: string) => auth.rpc.call(Refresh, { refreshToken }, auth.caller);
  const authorize = (credential: string) =>
    auth.rpc.call(Authorize, { credential, space: null }, auth.caller);

  it('ends a session at its absolute lifetime, however often it was refreshed', async () => {
    const started = Date.now();
    let tokens = await login();
    let refreshes = 0;
    await expectEventually(
      async () => {
        const code = await refresh(tokens.refreshToken).then(
          (next) => {
            tokens = next;
            refreshes++;
            return 'ok';
          },
          (error: { code: string }) => error.code,
        );
        expect(code).toBe('UNAUTHENTICATED');
      },
      { timeoutMs: 10_000, intervalMs: 300, what: 'the end of the session' },
    );
    expect(refreshes).toBeGreaterThan(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_000);
    // The last access token is itself good for 15 minutes, but its session is over.
    expect(await rejectedCode(authorize(tokens.accessToken))).toBe('UNAUTHENTICATED');
  });

  it('refuses a refresh secret never issued for the session, and leaves the session alone', async () => {
    const tokens = await login();
    const sessionId = tokens.refreshToken.split('_')[1]!;
    const forged = `prt_${sessionId}_${randomBytes(32).toString('base64url')}`;
    expect(await rejectedCode(refresh(forged))).toBe('UNAUTHENTICATED');
    expect(await authorize(tokens.accessToken)).toMatchObject({ principal: { sessionId } });
    const next = await refresh(tokens.refreshToken);
    expect(await authorize(next.accessToken)).toMatchObject({ principal: { sessionId } });
    // A secret really issued for it and already rotated away still ends it.
    expect(await rejectedCode(refresh(tokens.refreshToken))).toBe('UNAUTHENTICATED');
    expect(await rejectedCode(authorize(next.accessToken))).toBe('UNAUTHENTICATED');
  });

  it('says the tenancy changed once a session ended, before the logout answers; not on a login', async () => {
    const heard: string[] = [];
    const subscription = auth.nc.subscribe(subjectsFor(auth.prefix).tenancyChanged, {
      callback: () => void heard.push('tenancy changed'),
    });
    await auth.nc.flush();
    const tokens = await login();
    const answer = await authorize(tokens.accessToken);
    expect(Date.parse(answer.validUntil)).toBeLessThanOrEqual(Date.now() + 15 * 60_000);
    expect(Date.parse(answer.validUntil)).toBeGreaterThan(Date.now());
    await auth.rpc.call(Logout, { sessionId: answer.principal.sessionId! }, auth.caller);
    heard.push('logout answered');
    subscription.unsubscribe();
    // Same publisher connection, same subscriber connection: NATS keeps their order.
    expect(heard).toEqual(['tenancy changed', 'logout answered']);
    expect(await rejectedCode(authorize(tokens.accessToken))).toBe('UNAUTHENTICATED');
  });
});
