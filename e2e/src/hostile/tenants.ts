import { randomBytes } from 'node:crypto';
import { type Platform } from '../platform';

/** A tenant with something of every kind stored: a space, an app with a version, a secret, a token. */
export interface Tenant {
  readonly name: string;
  readonly id: string;
  readonly email: string;
  readonly password: string;
  /** Access token of a login session. */
  readonly session: string;
  /** A personal API token (not the session: `logout` cannot end it). */
  readonly apiToken: { readonly id: string; readonly token: string };
  readonly space: string;
  readonly app: string;
  readonly secret: string;
  readonly spec: { readonly image: string; readonly env: Record<string, string> };
}

/** Fails with the answer when `reply` is not `status`. */
export function expectStatus<T>(reply: { status: number; body: T }, status: number, what: string): T {
  if (reply.status !== status)
    throw new Error(`${what} answered ${reply.status}, not ${status}: ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** Creates user `name`, who creates space `<name>-space` holding app `web` (version 1), secret `db` and a token. */
export async function createTenant(
  platform: Platform,
  admin: string,
  name: string,
  cluster: string,
): Promise<Tenant> {
  const email = `${name}@example.com`;
  const password = `pw-${randomBytes(18).toString('base64url')}`; // never holding the email: older rules refused that
  const user = expectStatus(
    await platform.call<{ id: string }>(admin, 'POST', '/users', { email, displayName: name, password }),
    201,
    `creating user ${name}`,
  );
  const session = await platform.login(email, password);
  const space = `${name}-space`;
  expectStatus(await platform.call(session, 'POST', '/spaces', { name: space }), 201, `creating ${space}`);
  expectStatus(
    await platform.call(session, 'POST', `/spaces/${space}/apps`, { name: 'web', cluster }),
    201,
    `creating ${space}/web`,
  );
  const spec = { image: 'pier/busybox:latest', env: { GREETING: `hello from ${name}` } };
  expectStatus(
    await platform.call(session, 'POST', `/spaces/${space}/apps/web/versions`, spec),
    201,
    `creating ${space}/web version 1`,
  );
  expectStatus(
    await platform.call(session, 'POST', `/spaces/${space}/secrets`, {
      name: 'db',
      value: { kind: 'generic', data: { PASSWORD: `pw-${name}` } },
    }),
    201,
    `creating ${space}/db`,
  );
  const apiToken = expectStatus(
    await platform.call<{ id: string; token: string }>(session, 'POST', '/tokens', { name: `${name}-ci` }),
    201,
    `creating ${name}'s token`,
  );
  return {
    name,
    id: user.id,
    email,
    password,
    session,
    apiToken: { id: apiToken.id, token: apiToken.token },
    space,
    app: 'web',
    secret: 'db',
    spec,
  };
}
