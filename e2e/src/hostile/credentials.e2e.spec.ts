import { randomBytes, randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection } from '@nats-io/transport-node';
import { subjectsFor } from '@pier/contracts';
import { connectTestNats, deleteStreams, expectEventually, httpJson } from '@pier/testing';
import { type Platform, startPlatform } from '../platform';
import { callFrom, loginFrom } from './client-address';

type ErrorReply = { error: { code: string; message: string } };
type Token = { id: string; token: string; spaces: string[] | null; expiresAt: string | null };
type AuditPage = {
  items: {
    action: string;
    actor: { kind: string; id: string };
    correlationId: string;
    space: string | null;
    target: Record<string, string>;
    status: number;
    outcome: string;
    errorCode: string | null;
    ip: string | null;
  }[];
};
const DAY = 86_400_000;

/**
 * Issue 9, findings 4, 10, 11 and parts of 13, re-tried as written by two tenants (alice owns `alpha`,
 * bob owns `bravo`) against the whole platform with its default settings.
 */
describe('hostile tenants: credentials and the audit log', () => {
  let platform: Platform;
  let nc: NatsConnection;
  let admin: string;
  const tenants = {
    alice: { email: 'alice@example.com', space: 'alpha', id: '', token: '' },
    bob: { email: 'bob@example.com', space: 'bravo', id: '', token: '' },
  };
  const password = 'a long and ordinary passphrase';

  beforeAll(async () => {
    platform = await startPlatform('credentials');
    nc = await connectTestNats();
    admin = await platform.login(platform.admin.email, platform.admin.password);
    for (const [name, t] of Object.entries(tenants)) {
      const user = await platform.call<{ id: string }>(admin, 'POST', '/users', {
        email: t.email,
        displayName: name,
        password,
      });
      expect(user.status).toBe(201);
      t.id = user.body.id;
      t.token = await platform.login(t.email, password);
      expect((await platform.call(t.token, 'POST', '/spaces', { name: t.space })).status).toBe(201);
    }
  });

  afterAll(async () => {
    await platform?.stop();
    await deleteStreams(nc, platform.prefix);
    await nc.close();
  });

  const audit = async (token: string, path: string) => {
    const page = await platform.call<AuditPage>(token, 'GET', path);
    expect(page.status).toBe(200);
    return page.body.items;
  };

  describe('finding 4: a token only creates tokens within its own scope', () => {
    const createToken = (token: string, body: object) =>
      platform.call<Token & ErrorReply>(token, 'POST', '/tokens', { name: 'child', ...body });

    it('refuses a space-limited token an unlimited token, or one reaching beyond its spaces', async () => {
      const personal = (
        await platform.call<{ spaces: { name: string }[] }>(tenants.alice.token, 'GET', '/me')
      ).body.spaces;
      expect(personal.length).toBeGreaterThan(1); // her personal space and alpha
      const limited = await createToken(tenants.alice.token, { spaces: ['alpha'] });
      expect(limited.status).toBe(201);

      const unlimited = await createToken(limited.body.token, {});
      expect(unlimited).toMatchObject({ status: 403, body: { error: { code: 'TOKEN_SCOPE_EXCEEDED' } } });
      const wider = await createToken(limited.body.token, { spaces: personal.map((s) => s.name) });
      expect(wider).toMatchObject({ status: 403, body: { error: { code: 'TOKEN_SCOPE_EXCEEDED' } } });

      const narrower = await createToken(limited.body.token, { spaces: ['alpha'] });
      expect(narrower.status).toBe(201);
      expect(narrower.body.spaces).toEqual(['alpha']);
      expect(Date.parse(narrower.body.expiresAt!)).toBeLessThanOrEqual(Date.parse(limited.body.expiresAt!));
      const elsewhere = personal.find((s) => s.name !== 'alpha')!.name;
      expect((await platform.call(narrower.body.token, 'GET', `/spaces/${elsewhere}`)).status).toBe(404);
    });

    it("keeps an admin's space-limited token from minting a full admin token", async () => {
      const limited = await createToken(admin, { spaces: [await adminSpace()] });
      expect(limited.status).toBe(201);
      expect((await platform.call(limited.body.token, 'GET', '/users')).status).toBe(403);
      const minted = await createToken(limited.body.token, {});
      expect(minted).toMatchObject({ status: 403, body: { error: { code: 'TOKEN_SCOPE_EXCEEDED' } } });
      // Whatever it may create stays limited: still no admin powers.
      const child = await createToken(limited.body.token, { spaces: limited.body.spaces });
      expect(child.status).toBe(201);
      expect((await platform.call(child.body.token, 'GET', '/users')).status).toBe(403);
      expect(
        (
          await platform.call(child.body.token, 'POST', '/users', {
            email: 'mallory@example.com',
            displayName: 'Mallory',
            password: 'another long and ordinary passphrase',
          })
        ).status,
      ).toBe(403);
    });

    it('lets a space-limited token see and revoke only the tokens within its scope', async () => {
      const broad = await createToken(tenants.alice.token, {});
      const limited = await createToken(tenants.alice.token, { spaces: ['alpha'] });
      const seen = await platform.call<{ items: Token[] }>(limited.body.token, 'GET', '/tokens');
      expect(seen.body.items.map((t) => t.id)).toContain(limited.body.id);
      expect(seen.body.items.map((t) => t.id)).not.toContain(broad.body.id);
      const revoke = await platform.call<ErrorReply>(
        limited.body.token,
        'DELETE',
        `/tokens/${broad.body.id}`,
      );
      expect(revoke).toMatchObject({ status: 403, body: { error: { code: 'TOKEN_SCOPE_EXCEEDED' } } });
      expect((await platform.call(broad.body.token, 'GET', '/tokens')).status).toBe(200);
      expect((await platform.call(limited.body.token, 'DELETE', `/tokens/${limited.body.id}`)).status).toBe(
        200,
      );
    });

    it('refuses a token a child that outlives it', async () => {
      const expiresAt = new Date(Date.now() + 2 * DAY).toISOString();
      const parent = await createToken(tenants.bob.token, { expiresAt });
      const longer = await createToken(parent.body.token, {
        expiresAt: new Date(Date.now() + 3 * DAY).toISOString(),
      });
      expect(longer).toMatchObject({ status: 403, body: { error: { code: 'TOKEN_SCOPE_EXCEEDED' } } });
      const implicit = await createToken(parent.body.token, {});
      expect(implicit.status).toBe(201);
      expect(implicit.body.expiresAt).toBe(parent.body.expiresAt);
    });

    it('gives every token an expiry: 90 days at most, and by default', async () => {
      const plain = await createToken(tenants.bob.token, {});
      expect(plain.status).toBe(201);
      expect(Math.abs(Date.parse(plain.body.expiresAt!) - (Date.now() + 90 * DAY))).toBeLessThan(60_000);
      const tooLong = await createToken(tenants.bob.token, {
        expiresAt: new Date(Date.now() + 91 * DAY).toISOString(),
      });
      expect(tooLong).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
      expect(tooLong.body.error.message).toContain('at most 90 days');
    });

    async function adminSpace(): Promise<string> {
      const me = await platform.call<{ spaces: { name: string }[] }>(admin, 'GET', '/me');
      return me.body.spaces[0]!.name;
    }
  });

  describe('finding 10: the audit log', () => {
    it('never records an anonymous request in the space it names; whoever creates that space later reads nothing of it', async () => {
      const correlationId = `anon-${randomUUID()}`;
      const anonymous = await httpJson<ErrorReply>('DELETE', `${platform.api}/spaces/nobody`, undefined, {
        'x-request-id': correlationId,
      });
      expect(anonymous.status).toBe(401);
      expect((await platform.call(tenants.bob.token, 'POST', '/spaces', { name: 'nobody' })).status).toBe(
        201,
      );
      await expectEventually(async () => {
        const platformLog = await audit(admin, '/audit?action=deleteSpace&limit=1000');
        expect(platformLog).toContainEqual(
          expect.objectContaining({ correlationId, space: null, status: 401, outcome: 'denied' }),
        );
      });
      const own = await audit(tenants.bob.token, '/spaces/nobody/audit?limit=1000');
      expect(own.filter((e) => e.correlationId === correlationId)).toEqual([]);
      expect(own.filter((e) => e.actor.kind === 'anonymous')).toEqual([]);
    });

    it("keeps one tenant's probes out of the other's log: they go to the platform log", async () => {
      const correlationId = `probe-${randomUUID()}`;
      const probes = [
        ['DELETE', '/spaces/bravo', undefined],
        ['POST', '/spaces/bravo/secrets', { name: 'x', value: { kind: 'generic', data: { K: 'v' } } }],
        ['PUT', `/spaces/bravo/members/${tenants.alice.id}`, { role: 'owner' }],
      ] as const;
      for (const [method, path, body] of probes) {
        const reply = await httpJson<ErrorReply>(method, `${platform.api}${path}`, body, {
          authorization: `Bearer ${tenants.alice.token}`,
          'x-request-id': correlationId,
        });
        expect(reply.body.error.code).toBe('SPACE_NOT_FOUND');
      }
      await expectEventually(async () => {
        const mine = (await audit(admin, '/audit?limit=1000')).filter(
          (e) => e.correlationId === correlationId,
        );
        expect(mine).toHaveLength(3);
        expect(
          mine.every((e) => e.space === null && e.outcome === 'denied' && e.actor.id === tenants.alice.id),
        ).toBe(true);
      });
      const bravo = await audit(tenants.bob.token, '/spaces/bravo/audit?limit=1000');
      expect(bravo.filter((e) => e.actor.id === tenants.alice.id)).toEqual([]);
    });

    it('records every request that succeeds in the log of its space', async () => {
      const ids: string[] = [];
      const act = async (method: string, path: string, body?: unknown) => {
        const correlationId = `ok-${randomUUID()}`;
        ids.push(correlationId);
        const reply = await httpJson(method, `${platform.api}${path}`, body, {
          authorization: `Bearer ${tenants.alice.token}`,
          'x-request-id': correlationId,
        });
        expect(reply.status).toBeLessThan(300);
      };
      await act('PATCH', '/spaces/alpha', { displayName: 'Alpha Inc' });
      await act('POST', '/spaces/alpha/secrets', {
        name: 'db',
        value: { kind: 'generic', data: { K: 'v' } },
      });
      await act('PUT', `/spaces/alpha/members/${tenants.bob.id}`, { role: 'auditor' });
      await act('DELETE', `/spaces/alpha/members/${tenants.bob.id}`);
      await act('DELETE', '/spaces/alpha/secrets/db');
      await expectEventually(async () => {
        const alpha = await audit(tenants.alice.token, '/spaces/alpha/audit?limit=1000');
        for (const id of ids) {
          expect(alpha.filter((e) => e.correlationId === id)).toEqual([
            expect.objectContaining({
              space: 'alpha',
              outcome: 'succeeded',
              actor: { kind: 'user', id: tenants.alice.id },
            }),
          ]);
        }
      });
    });

    it('refuses a change whose audit record cannot be stored (503), and nothing happens', async () => {
      const stream = subjectsFor(platform.prefix).eventStream;
      const jsm = await jetstreamManager(nc);
      const { config } = await jsm.streams.info(stream);
      // Every context but the audit log's: appends to audit subjects now fail, everything else works.
      const contexts = ['clusters', 'tenancy', 'runtime', 'other'].map(
        (c) => `${platform.prefix}.events.${c}.>`,
      );
      await jsm.streams.update(stream, { ...config, subjects: contexts });
      try {
        const change = await platform.call<ErrorReply>(tenants.alice.token, 'PATCH', '/spaces/alpha', {
          displayName: 'Never Stored',
        });
        expect(change).toMatchObject({ status: 503, body: { error: { code: 'SERVICE_UNAVAILABLE' } } });
        const secret = await platform.call<ErrorReply>(tenants.alice.token, 'POST', '/spaces/alpha/secrets', {
          name: 'unaudited',
          value: { kind: 'generic', data: { K: 'v' } },
        });
        expect(secret.status).toBe(503);
        // A login's tokens are withheld when its record cannot be stored.
        const login = await httpJson<ErrorReply>('POST', `${platform.api}/auth/login`, {
          email: tenants.bob.email,
          password,
        });
        expect(login).toMatchObject({ status: 503, body: { error: { code: 'SERVICE_UNAVAILABLE' } } });
        expect(JSON.stringify(login.body)).not.toContain('accessToken');
      } finally {
        await jsm.streams.update(stream, config);
      }
      const space = await platform.call<{ displayName: string }>(tenants.alice.token, 'GET', '/spaces/alpha');
      expect(space.body.displayName).not.toBe('Never Stored');
      expect(
        (await platform.call(tenants.alice.token, 'GET', '/spaces/alpha/secrets/unaudited')).status,
      ).toBe(404);
      expect(
        (await platform.call(tenants.alice.token, 'PATCH', '/spaces/alpha', { displayName: 'Alpha' })).status,
      ).toBe(200);
    });

    it('limits records of refused requests per address, counting and summing up what it drops', async () => {
      const address = '127.0.0.20';
      const sent = 60;
      for (let i = 0; i < sent; i++) {
        expect((await callFrom(address, 'DELETE', `${platform.api}/spaces/nobody`)).status).toBe(401);
      }
      const metrics = async () => {
        const text = await (await fetch(platform.api.replace('/api/v1', '/metrics'))).text();
        return Number(/^pier_audit_refused_dropped_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
      };
      const fromAddress = async () =>
        (await audit(admin, '/audit?limit=1000')).filter((e) => e.ip === address);
      await expectEventually(async () => {
        const written = (await fromAddress()).filter((e) => e.action === 'deleteSpace');
        expect(written.length).toBeGreaterThanOrEqual(20); // the burst
        expect(written.length).toBeLessThan(30);
      });
      expect(await metrics()).toBeGreaterThanOrEqual(sent - 30);
      // The address's next record, once it may write again, comes with the sum of what was dropped.
      await expectEventually(
        async () => {
          await callFrom(address, 'DELETE', `${platform.api}/spaces/nobody`);
          const summaries = (await fromAddress()).filter((e) => e.action === 'auditRecordsDropped');
          expect(summaries.length).toBeGreaterThan(0);
          expect(summaries.reduce((n, s) => n + Number(s.target.dropped), 0)).toBeGreaterThanOrEqual(
            sent - 30,
          );
        },
        { timeoutMs: 15_000, intervalMs: 500, what: 'a summary of the dropped records' },
      );
    });
  });

  describe('finding 11: login throttling', () => {
    const wrong = () => `wrong ${randomBytes(6).toString('hex')}`;

    it('five wrong passwords for one account lock no one else behind the same address, admin included', async () => {
      const address = '127.0.0.11';
      for (let i = 0; i < 5; i++)
        expect((await loginFrom(platform.api, address, tenants.alice.email, wrong())).status).toBe(401);
      expect((await loginFrom(platform.api, address, tenants.bob.email, password)).status).toBe(200);
      expect(
        (await loginFrom(platform.api, address, platform.admin.email, platform.admin.password)).status,
      ).toBe(200);
    });

    it('five wrong passwords do not lock the admin out: the right password works after a second at most', async () => {
      const address = '127.0.0.12';
      for (let i = 0; i < 5; i++)
        expect((await loginFrom(platform.api, address, platform.admin.email, wrong())).status).toBe(401);
      const right = await loginFrom(platform.api, address, platform.admin.email, platform.admin.password);
      if (right.status === 429) expect(right.retryAfter).toBeLessThanOrEqual(1);
      else expect(right.status).toBe(200);
      await expectEventually(
        async () =>
          expect(
            (await loginFrom(platform.api, address, platform.admin.email, platform.admin.password)).status,
          ).toBe(200),
        { timeoutMs: 5_000, intervalMs: 250, what: "the admin's login" },
      );
    });

    it('counts twenty parallel guesses before evaluating them: only the five free ones are', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => loginFrom(platform.api, '127.0.0.13', tenants.bob.email, wrong())),
      );
      expect(results.filter((r) => r.status === 401)).toHaveLength(5);
      const limited = results.filter((r) => r.status === 429);
      expect(limited).toHaveLength(15);
      expect(limited.every((r) => r.code === 'RATE_LIMITED' && r.retryAfter! >= 1)).toBe(true);
    });

    it("does not reset an address's count when someone logs in to their own account from it", async () => {
      const address = '127.0.0.14';
      // 99 failures over 25 accounts (under each pair's free failures), one short of the address ceiling.
      for (let batch = 0; batch < 33; batch++) {
        const replies = await Promise.all(
          [0, 1, 2].map((k) =>
            loginFrom(platform.api, address, `sprayed-${(batch * 3 + k) % 25}@example.com`, wrong()),
          ),
        );
        expect(replies.map((r) => r.status)).toEqual([401, 401, 401]);
      }
      expect((await loginFrom(platform.api, address, tenants.alice.email, password)).status).toBe(200);
      expect((await loginFrom(platform.api, address, 'sprayed-0@example.com', wrong())).status).toBe(401);
      const capped = await loginFrom(platform.api, address, 'sprayed-1@example.com', wrong());
      expect(capped).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      expect(capped.retryAfter).toBeGreaterThan(60);
      expect((await loginFrom(platform.api, address, tenants.alice.email, password)).status).toBe(429);
      expect((await loginFrom(platform.api, '127.0.0.17', tenants.alice.email, password)).status).toBe(200);
    });

    it("does not hold up the victim logging in from elsewhere while an attacker guesses the victim's password", async () => {
      for (let i = 0; i < 10; i++) await loginFrom(platform.api, '127.0.0.15', tenants.bob.email, wrong());
      expect((await loginFrom(platform.api, '127.0.0.15', tenants.bob.email, wrong())).status).toBe(429);
      expect((await loginFrom(platform.api, '127.0.0.16', tenants.bob.email, password)).status).toBe(200);
    });
  });

  describe('finding 13 (parts): refresh secrets, weak passwords', () => {
    it('answers a refresh with a known session id and a made-up secret 401, leaving the session alone', async () => {
      const login = await httpJson<{ accessToken: string; refreshToken: string }>(
        'POST',
        `${platform.api}/auth/login`,
        {
          email: tenants.bob.email,
          password,
        },
      );
      const sessionId = login.body.refreshToken.split('_')[1]!;
      const forged = await httpJson<ErrorReply>('POST', `${platform.api}/auth/refresh`, {
        refreshToken: `prt_${sessionId}_${randomBytes(32).toString('base64url')}`,
      });
      expect(forged).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
      expect((await platform.call(login.body.accessToken, 'GET', '/me')).status).toBe(200);
      const refreshed = await httpJson<{ accessToken: string }>('POST', `${platform.api}/auth/refresh`, {
        refreshToken: login.body.refreshToken,
      });
      expect(refreshed.status).toBe(200);
      expect((await platform.call(refreshed.body.accessToken, 'GET', '/me')).status).toBe(200);
    });

    it.each([
      ['passwordpassword', 'carol@example.com', 'Carol'],
      ['qwerty123456', 'carol@example.com', 'Carol'],
      ['Carol Jones 2026', 'carol.jones@example.com', 'Carol Jones'],
    ])(
      'refuses the weak password %j (422 WEAK_PASSWORD) and creates no one',
      async (weak, email, displayName) => {
        const reply = await platform.call<ErrorReply>(admin, 'POST', '/users', {
          email,
          displayName,
          password: weak,
        });
        expect(reply).toMatchObject({ status: 422, body: { error: { code: 'WEAK_PASSWORD' } } });
        const users = await platform.call<{ items: { email: string }[] }>(admin, 'GET', '/users?limit=1000');
        expect(users.body.items.map((u) => u.email)).not.toContain(email);
      },
    );
  });
});
