import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { type ApiTokenView, type Cause, PierError } from '@pier/contracts';
import { execute } from '@pier/eventstore';
import {
  apiTokenStatus,
  callerScope,
  createApiToken,
  revokeApiToken,
  tokenExpiry,
  type TokenScope,
  withinScope,
} from '../../domain/api-token/api-token.decide';
import { type ApiTokenState, evolveApiToken } from '../../domain/api-token/api-token.state';
import { formatCredential } from '../../domain/credentials';
import { commandContext, newSecret, sha256 } from '../command-context';
import {
  API_TOKENS,
  type ApiTokenRepository,
  AUTH_SETTINGS,
  type AuthSettings,
  READ_MODEL,
  READ_MODEL_SYNC,
  type ReadModelSync,
  type TenancyReadModel,
} from '../ports';

/** A token as the API shows it; `expiresAt` is when it stops working, also for tokens stored without one. */
export function apiTokenView(
  token: Pick<ApiTokenState, 'id' | 'name' | 'spaces' | 'expiresAt' | 'revoked'>,
  createdAt: string,
  now: string,
): ApiTokenView {
  return {
    id: token.id,
    name: token.name,
    spaces: token.spaces ? [...token.spaces] : null,
    expiresAt: tokenExpiry({ expiresAt: token.expiresAt, createdAt }),
    state: apiTokenStatus({ ...token, createdAt }, now),
    createdAt,
  };
}

/** Personal API tokens: the secret is returned once, at creation; only its SHA-256 is stored. */
@Injectable()
export class ApiTokensHandler {
  constructor(
    @Inject(API_TOKENS) private readonly tokens: ApiTokenRepository,
    @Inject(READ_MODEL) private readonly readModel: TenancyReadModel,
    @Inject(READ_MODEL_SYNC) private readonly sync: ReadModelSync,
    @Inject(AUTH_SETTINGS) private readonly settings: AuthSettings,
  ) {}

  async create(
    cmd: {
      userId: string;
      name: string;
      expiresAt?: string;
      spaces?: string[];
      callerTokenId?: string | null;
    },
    cause: Cause,
  ): Promise<ApiTokenView & { token: string }> {
    const ctx = commandContext(cause);
    const tokenId = randomUUID();
    const secret = newSecret();
    // The calling token's scope comes from its own events, not from what the caller says about it.
    const caller = cmd.callerTokenId
      ? callerScope((await this.tokens.load(cmd.callerTokenId)).state, cmd.userId, ctx.now)
      : null;
    const memberOf = cmd.spaces ? await this.readModel.spacesOf(cmd.userId) : [];
    const { state, version } = await execute(
      this.tokens,
      tokenId,
      (s) =>
        createApiToken(
          s,
          {
            tokenId,
            userId: cmd.userId,
            name: cmd.name,
            secretSha256: sha256(secret),
            expiresAt: cmd.expiresAt ?? null,
            spaces: cmd.spaces ?? null,
            memberOf,
            maxLifetimeSeconds: this.settings.apiTokenMaxLifetimeSeconds,
            caller,
          },
          ctx,
        ),
      evolveApiToken,
    );
    await this.sync.waitFor(version);
    const created = state as ApiTokenState;
    return {
      ...apiTokenView(created, created.createdAt, ctx.now),
      token: formatCredential('pat', tokenId, secret),
    };
  }

  async revoke(
    cmd: { userId: string; tokenId: string; callerTokenId?: string | null },
    cause: Cause,
  ): Promise<ApiTokenView> {
    const ctx = commandContext(cause);
    const caller = await this.callerScope(cmd, ctx.now);
    const { version } = await execute(
      this.tokens,
      cmd.tokenId,
      (s) => revokeApiToken(s, { ...cmd, caller }, ctx),
      evolveApiToken,
    );
    await this.sync.waitFor(version);
    const record = await this.readModel.apiToken(cmd.tokenId);
    if (!record) throw new PierError('API_TOKEN_NOT_FOUND', `token ${cmd.tokenId} does not exist`);
    return apiTokenView(record, record.createdAt, ctx.now);
  }

  /** The user's tokens; asked with a token, only those within its scope. */
  async list(cmd: { userId: string; callerTokenId?: string | null }): Promise<{ items: ApiTokenView[] }> {
    const now = new Date().toISOString();
    const caller = await this.callerScope(cmd, now);
    const tokens = await this.readModel.apiTokens(cmd.userId);
    return {
      items: tokens
        .filter((t) => !caller || withinScope(t, caller))
        .map((t) => apiTokenView(t, t.createdAt, now)),
    };
  }

  /** The calling token's scope, from its own events: never from what the caller says about it. */
  private async callerScope(
    cmd: { userId: string; callerTokenId?: string | null },
    now: string,
  ): Promise<TokenScope | null> {
    if (!cmd.callerTokenId) return null;
    return callerScope((await this.tokens.load(cmd.callerTokenId)).state, cmd.userId, now);
  }
}
