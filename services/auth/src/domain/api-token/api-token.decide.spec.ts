import { ApiTokenCreated, type ApiTokenEvent, createMessage } from '@pier/contracts';
import { rejectionCode } from '@pier/testing';
import { type CommandContext } from '../clock';
import {
  apiTokenStatus,
  callerScope,
  createApiToken,
  LEGACY_TOKEN_LIFETIME_S,
  revokeApiToken,
  tokenExpiry,
  type TokenScope,
  withinScope,
} from './api-token.decide';
import { type ApiTokenState, evolveApiToken } from './api-token.state';

const T0 = '2026-01-01T00:00:00.000Z';
const days = (n: number) => new Date(Date.parse(T0) + n * 86_400_000).toISOString();
const ctx: CommandContext = {
  cause: { messageId: 'm', correlationId: 'c', actor: { kind: 'token', id: 'u' } },
  now: T0,
};
const USER = '11111111-1111-4111-8111-111111111111';
const TOKEN = '22222222-2222-4222-8222-222222222222';
const given = (...events: ApiTokenEvent[]): ApiTokenState | null => events.reduce(evolveApiToken, null);
const create = (
  cmd: { expiresAt?: string; spaces?: string[]; caller?: TokenScope | null; memberOf?: string[] },
  state: ApiTokenState | null = null,
) =>
  createApiToken(
    state,
    {
      tokenId: TOKEN,
      userId: USER,
      name: 'ci',
      secretSha256: 'a'.repeat(64),
      expiresAt: cmd.expiresAt ?? null,
      spaces: cmd.spaces ?? null,
      memberOf: cmd.memberOf ?? ['acme', 'beta', 'ops'],
      maxLifetimeSeconds: 90 * 86_400,
      caller: cmd.caller ?? null,
    },
    ctx,
  );

describe('api token decisions', () => {
  describe('lifetime', () => {
    it('gives a token asked for without an expiry the maximum lifetime', () => {
      expect(create({})).toMatchObject([{ type: 'ApiTokenCreated', data: { expiresAt: days(90) } }]);
    });

    it('refuses an expiry beyond the maximum lifetime, or in the past, saying why', () => {
      const beyond = () => create({ expiresAt: days(91) });
      expect(rejectionCode(beyond)).toBe('VALIDATION_FAILED');
      expect(beyond).toThrow('expiresAt must be at most 90 days from now');
      expect(rejectionCode(() => create({ expiresAt: T0 }))).toBe('VALIDATION_FAILED');
      expect(create({ expiresAt: days(90) })).toMatchObject([{ data: { expiresAt: days(90) } }]);
    });

    it('lets a token stored without an expiry live 90 days from its creation', () => {
      const legacy = given(
        createMessage(
          ApiTokenCreated,
          {
            tokenId: TOKEN,
            userId: USER,
            name: 'old',
            secretSha256: 'a'.repeat(64),
            expiresAt: null,
            spaces: null,
          },
          ctx.cause,
          T0,
        ),
      )!;
      expect(LEGACY_TOKEN_LIFETIME_S).toBe(90 * 86_400);
      expect(tokenExpiry(legacy)).toBe(days(90));
      expect(apiTokenStatus(legacy, days(89))).toBe('active');
      expect(apiTokenStatus(legacy, days(90))).toBe('expired');
    });
  });

  describe('scopes only narrow', () => {
    const limited: TokenScope = { spaces: ['acme', 'beta'], expiresAt: days(30) };
    const unlimited: TokenScope = { spaces: null, expiresAt: days(30) };

    it('lets a limited token create a token limited to some of its spaces', () => {
      expect(create({ spaces: ['beta'], caller: limited })).toMatchObject([
        { type: 'ApiTokenCreated', data: { spaces: ['beta'], expiresAt: days(30) } },
      ]);
    });

    it('refuses a limited token an unlimited token, or one reaching another space', () => {
      expect(rejectionCode(() => create({ caller: limited }))).toBe('TOKEN_SCOPE_EXCEEDED');
      expect(rejectionCode(() => create({ spaces: ['acme', 'ops'], caller: limited }))).toBe(
        'TOKEN_SCOPE_EXCEEDED',
      );
    });

    it('refuses any token a child outliving it, and caps a child asked without expiry at its own', () => {
      expect(rejectionCode(() => create({ expiresAt: days(31), caller: unlimited }))).toBe(
        'TOKEN_SCOPE_EXCEEDED',
      );
      expect(create({ caller: unlimited })).toMatchObject([{ data: { expiresAt: days(30), spaces: null } }]);
      expect(create({ expiresAt: days(10), caller: unlimited })).toMatchObject([
        { data: { expiresAt: days(10) } },
      ]);
    });

    it('lets a limited token see and revoke only the tokens within its scope', () => {
      const broad = given(...create({}))!;
      const narrow = given(...create({ spaces: ['acme'], expiresAt: days(20) }))!;
      expect(withinScope(broad, limited)).toBe(false);
      expect(withinScope(narrow, limited)).toBe(true);
      expect(withinScope(given(...create({ spaces: ['acme'], expiresAt: days(40) }))!, limited)).toBe(false);
      const revoke = (state: ApiTokenState, caller: TokenScope | null) =>
        revokeApiToken(state, { tokenId: TOKEN, userId: USER, caller }, ctx);
      expect(rejectionCode(() => revoke(broad, limited))).toBe('TOKEN_SCOPE_EXCEEDED');
      expect(revoke(narrow, limited).map((e) => e.type)).toEqual(['ApiTokenRevoked']);
      expect(revoke(broad, null).map((e) => e.type)).toEqual(['ApiTokenRevoked']);
    });

    it('still requires membership of the named spaces', () => {
      expect(rejectionCode(() => create({ spaces: ['elsewhere'] }))).toBe('SPACE_NOT_FOUND');
    });
  });

  describe('callerScope', () => {
    const token = given(...create({ spaces: ['acme'], expiresAt: days(5) }))!;

    it('is the calling token’s own spaces and expiry', () => {
      expect(callerScope(token, USER, T0)).toEqual({ spaces: ['acme'], expiresAt: days(5) });
    });

    it('refuses a token of someone else, or one that no longer works', () => {
      expect(rejectionCode(() => callerScope(token, TOKEN, T0))).toBe('UNAUTHENTICATED');
      expect(rejectionCode(() => callerScope(token, USER, days(5)))).toBe('UNAUTHENTICATED');
      expect(rejectionCode(() => callerScope(null, USER, T0))).toBe('UNAUTHENTICATED');
    });
  });
});
