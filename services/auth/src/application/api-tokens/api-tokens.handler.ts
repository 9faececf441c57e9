import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { type ApiTokenView, type Cause, PierError } from '@pier/contracts';
import { execute } from '@pier/eventstore';
import { apiTokenStatus, createApiToken, revokeApiToken } from '../../domain/api-token/api-token.decide';
import { type ApiTokenState, evolveApiToken } from '../../domain/api-token/api-token.state';
import { formatCredential } from '../../domain/credentials';
import { commandContext, newSecret, sha256 } from '../command-context';
import {
  API_TOKENS,
  type ApiTokenRecord,
  type ApiTokenRepository,
  READ_MODEL,
  READ_MODEL_SYNC,
  type ReadModelSync,
  type TenancyReadModel,
} from '../ports';

export function apiTokenView(
  token: Pick<ApiTokenRecord, 'id' | 'name' | 'spaces' | 'expiresAt' | 'revoked'>,
  createdAt: string,
  now: string,
): ApiTokenView {
  return {
    id: token.id,
    name: token.name,
    spaces: token.spaces ? [...token.spaces] : null,
    expiresAt: token.expiresAt,
    state: apiTokenStatus(token, now),
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
  ) {}

  async create(
    cmd: { userId: string; name: string; expiresAt?: string; spaces?: string[] },
    cause: Cause,
  ): Promise<ApiTokenView & { token: string }> {
    const ctx = commandContext(cause);
    const tokenId = randomUUID();
    const secret = newSecret();
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
          },
          ctx,
        ),
      evolveApiToken,
    );
    await this.sync.waitFor(version);
    return {
      ...apiTokenView(state as ApiTokenState & ApiTokenRecord, ctx.now, ctx.now),
      token: formatCredential('pat', tokenId, secret),
    };
  }

  async revoke(cmd: { userId: string; tokenId: string }, cause: Cause): Promise<ApiTokenView> {
    const ctx = commandContext(cause);
    const { version } = await execute(
      this.tokens,
      cmd.tokenId,
      (s) => revokeApiToken(s, cmd, ctx),
      evolveApiToken,
    );
    await this.sync.waitFor(version);
    const record = await this.readModel.apiToken(cmd.tokenId);
    if (!record) throw new PierError('API_TOKEN_NOT_FOUND', `token ${cmd.tokenId} does not exist`);
    return apiTokenView(record, record.createdAt, ctx.now);
  }
}
