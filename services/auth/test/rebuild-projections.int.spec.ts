import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  AUDIT,
  AuditRecorded,
  AuditRequestAccepted,
  CreateApiToken,
  CreateSpace,
  createMessage,
  DeleteSecret,
  Login,
  Logout,
  type PierEvent,
  pierEvents,
  Refresh,
  RegisterUser,
  RemoveMember,
  RevokeApiToken,
  SetMember,
  SetQuota,
  StoreSecret,
  subjectsFor,
  UpdateSpace,
} from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import {
  dropSchema,
  expectEventually,
  runRebuild,
  schemaTables,
  tableDifferences,
  testEnv,
} from '@pier/testing';
import { type AuthHarness, startAuth } from './auth-harness';

/** The auth service as built (`nx run @pier/auth:build`): the command under test is its `main.js`. */
const AUTH_SCRIPT = join(__dirname, '..', 'dist', 'main.js');

/** Throttling state written by logins themselves, not by a projection: a rebuild leaves it empty. */
const NOT_PROJECTED = ['login_attempts'];

/**
 * `rebuild-projections` of auth: state built through the running service, then the built command
 * replays the stream into a fresh schema while the service keeps running, and every table of the read
 * model equals the live one row for row. Real NATS and Postgres.
 */
describe('auth rebuild-projections (real NATS and Postgres)', () => {
  let auth: AuthHarness;
  let rebuilt: string;

  beforeAll(async () => {
    auth = await startAuth('auth-rebuild');
    rebuilt = `${auth.prefix}_rebuilt`;
  });

  afterAll(async () => {
    await dropSchema(auth.databaseUrl, rebuilt);
    await auth?.close();
  });

  /** Users, a session, tokens, a space with members, quota and secrets, audit records, a failed login. */
  async function buildState(): Promise<void> {
    const { rpc, caller } = auth;
    const password = 'a long and ordinary passphrase';
    const register = (name: string) =>
      rpc.call(
        RegisterUser,
        { email: `${name}@example.com`, displayName: name, password, platformRole: 'user' },
        caller,
      );
    const ada = await register('ada');
    const bob = await register('bob');
    const eve = await register('eve');

    const first = await rpc.call(Login, { email: 'ada@example.com', password, address: '10.0.0.1' }, caller);
    await rpc.call(Refresh, { refreshToken: first.refreshToken }, caller);
    await rpc.call(Logout, { sessionId: first.refreshToken.split('_')[1]! }, caller);
    await rpc.call(Login, { email: 'ada@example.com', password, address: '10.0.0.1' }, caller);
    await expect(
      rpc.call(Login, { email: 'bob@example.com', password: 'wrong', address: '10.0.0.2' }, caller),
    ).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });

    await rpc.call(CreateSpace, { name: 'acme', ownerId: ada.id }, caller);
    await rpc.call(UpdateSpace, { space: 'acme', displayName: 'Acme Inc.' }, caller);
    await rpc.call(SetMember, { space: 'acme', userId: bob.id, role: 'developer' }, caller);
    await rpc.call(SetMember, { space: 'acme', userId: bob.id, role: 'auditor' }, caller);
    await rpc.call(SetMember, { space: 'acme', userId: eve.id, role: 'developer' }, caller);
    await rpc.call(RemoveMember, { space: 'acme', userId: eve.id }, caller);
    await rpc.call(
      SetQuota,
      {
        space: 'acme',
        quota: { maxApps: 3, maxInstances: 10, maxCpuMillicores: 4000, maxMemoryMiB: 4096 },
      },
      caller,
    );
    const generic = (data: Record<string, string>) => ({ kind: 'generic', data });
    await rpc.call(
      StoreSecret,
      { space: 'acme', name: 'db', mode: 'create', value: generic({ URL: 'postgres://db' }) },
      caller,
    );
    await rpc.call(
      StoreSecret,
      { space: 'acme', name: 'db', mode: 'replace', value: generic({ URL: 'postgres://db2' }) },
      caller,
    );
    await rpc.call(
      StoreSecret,
      { space: 'acme', name: 'old', mode: 'create', value: generic({ KEY: 'value' }) },
      caller,
    );
    await rpc.call(DeleteSecret, { space: 'acme', name: 'old' }, caller);

    const kept = await rpc.call(CreateApiToken, { userId: ada.id, name: 'ci', spaces: ['acme'] }, caller);
    const revoked = await rpc.call(CreateApiToken, { userId: ada.id, name: 'old' }, caller);
    await rpc.call(RevokeApiToken, { userId: ada.id, tokenId: revoked.id }, caller);
    expect(kept.state).toBe('active');

    // The gateway's audit records: an intent completed by its outcome, and a refusal alone.
    const store = await EventStore.open<PierEvent>(auth.nc, subjectsFor(auth.prefix), pierEvents);
    const request = { action: 'createSecret', method: 'POST', path: '/api/v1/spaces/acme/secrets' };
    const cause = () => ({
      messageId: randomUUID(),
      correlationId: randomUUID(),
      actor: { kind: 'user' as const, id: ada.id },
    });
    const requestId = randomUUID();
    const at = () => new Date().toISOString();
    const common = { ...request, space: 'acme', ip: '10.0.0.1' };
    await store.append(
      AUDIT,
      'acme',
      [
        createMessage(
          AuditRequestAccepted,
          { ...common, requestId, target: { space: 'acme' } },
          cause(),
          at(),
        ),
        createMessage(
          AuditRecorded,
          {
            ...common,
            requestId,
            target: { space: 'acme', name: 'db' },
            status: 201,
            outcome: 'succeeded',
            errorCode: null,
          },
          cause(),
          at(),
        ),
        createMessage(
          AuditRecorded,
          { ...common, target: { space: 'acme' }, status: 403, outcome: 'denied', errorCode: 'FORBIDDEN' },
          cause(),
          at(),
        ),
      ],
      'any',
    );
  }

  it('replays the stream into a fresh schema equal to the live read model, table by table', async () => {
    await buildState();
    await runRebuild(AUTH_SCRIPT, {
      PIER_PREFIX: auth.prefix,
      PIER_NATS_URL: testEnv.PIER_TEST_NATS_URL,
      PIER_DATABASE_URL: auth.databaseUrl,
      PIER_DATABASE_SCHEMA: rebuilt,
      PIER_JWT_SECRET: randomBytes(48).toString('base64url'),
      PIER_SECRETS_KEY: randomBytes(32).toString('base64'),
      PIER_INTERNAL_TOKEN: randomBytes(32).toString('base64url'),
      PIER_LOG_LEVEL: 'warn',
    });

    const projected = await expectEventually(
      async () => {
        const live = await schemaTables(auth.databaseUrl, auth.prefix, NOT_PROJECTED);
        expect(tableDifferences(live, await schemaTables(auth.databaseUrl, rebuilt, NOT_PROJECTED))).toEqual(
          [],
        );
        return live;
      },
      { what: 'the rebuilt auth read model equal to the live one' },
    );
    // Every table of the read model holds rows, so the comparison compared something.
    const empty = Object.entries(projected).filter(([, rows]) => rows.length === 0);
    expect(empty.map(([table]) => table)).toEqual([]);
    expect(Object.keys(projected)).toEqual([
      'api_tokens',
      'audit_log',
      'projection_checkpoints',
      'secrets',
      'sessions',
      'space_members',
      'spaces',
      'users',
    ]);
    const throttling = (schema: string) =>
      schemaTables(auth.databaseUrl, schema).then((tables) => tables.login_attempts);
    expect((await throttling(auth.prefix))?.length).toBeGreaterThan(0);
    expect(await throttling(rebuilt)).toEqual([]);
  });

  it('leaves the running service reading its own events on', async () => {
    // The rebuild deleted the durable consumers of the service's projections; a command waits for its
    // own change in the read model, which it sees only once they were recreated.
    const space = await auth.rpc.call(UpdateSpace, { space: 'acme', displayName: 'Acme' }, auth.caller);
    expect(space.displayName).toBe('Acme');
  });
});
