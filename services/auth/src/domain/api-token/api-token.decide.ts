import {
  ApiTokenCreated,
  type ApiTokenEvent,
  ApiTokenRevoked,
  createMessage,
  PierError,
} from '@pier/contracts';
import { type CommandContext } from '../clock';
import { type ApiTokenState } from './api-token.state';

/**
 * A personal API token. Its expiry must lie in the future (at most a year ahead); a token limited to
 * spaces may only name spaces its owner belongs to (`memberOf`).
 */
export function createApiToken(
  state: ApiTokenState | null,
  cmd: {
    tokenId: string;
    userId: string;
    name: string;
    secretSha256: string;
    expiresAt: string | null;
    spaces: readonly string[] | null;
    memberOf: readonly string[];
  },
  ctx: CommandContext,
): ApiTokenEvent[] {
  if (state) return [];
  if (cmd.expiresAt !== null) {
    const delta = Date.parse(cmd.expiresAt) - Date.parse(ctx.now);
    if (delta <= 0)
      throw new PierError('VALIDATION_FAILED', 'expiresAt must be in the future', { field: 'expiresAt' });
    if (delta > 366 * 24 * 3600 * 1000) {
      throw new PierError('VALIDATION_FAILED', 'expiresAt must be within a year', { field: 'expiresAt' });
    }
  }
  const foreign = (cmd.spaces ?? []).filter((s) => !cmd.memberOf.includes(s));
  if (foreign.length > 0) {
    throw new PierError('SPACE_NOT_FOUND', `not a member of: ${foreign.join(', ')}`, { spaces: foreign });
  }
  return [
    createMessage(
      ApiTokenCreated,
      {
        tokenId: cmd.tokenId,
        userId: cmd.userId,
        name: cmd.name,
        secretSha256: cmd.secretSha256,
        expiresAt: cmd.expiresAt ? new Date(cmd.expiresAt).toISOString() : null,
        spaces: cmd.spaces ? [...new Set(cmd.spaces)].sort() : null,
      },
      ctx.cause,
      ctx.now,
    ),
  ];
}

/** Only the owner revokes a token; someone else's token is answered as not found. */
export function revokeApiToken(
  state: ApiTokenState | null,
  cmd: { tokenId: string; userId: string },
  ctx: CommandContext,
): ApiTokenEvent[] {
  if (!state || state.userId !== cmd.userId)
    throw new PierError('API_TOKEN_NOT_FOUND', `token ${cmd.tokenId} does not exist`);
  if (state.revoked) return [];
  return [createMessage(ApiTokenRevoked, { tokenId: state.id }, ctx.cause, ctx.now)];
}

export function apiTokenStatus(
  token: Pick<ApiTokenState, 'revoked' | 'expiresAt'>,
  now: string,
): 'active' | 'expired' | 'revoked' {
  if (token.revoked) return 'revoked';
  if (token.expiresAt !== null && Date.parse(token.expiresAt) <= Date.parse(now)) return 'expired';
  return 'active';
}
