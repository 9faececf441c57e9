import { Inject, Injectable } from '@nestjs/common';
import { PierError, type Principal, type SpaceRole, type UserView } from '@pier/contracts';
import { apiTokenStatus } from '../../domain/api-token/api-token.decide';
import { digestsEqual, parseCredential } from '../../domain/credentials';
import { sha256 } from '../command-context';
import { ACCESS_TOKENS, type AccessTokens, READ_MODEL, type TenancyReadModel } from '../ports';

export interface Authorization {
  principal: Principal;
  space: { name: string; exists: boolean; role: SpaceRole | null } | null;
  /** When the credential expires by itself: the earliest of its own expiry and its session's. */
  validUntil: string;
}

/**
 * Establishes who a bearer credential belongs to, and their role in a space, from the read model on
 * every call: nothing is cached here, so a revoked token, an ended session or a changed role is seen by
 * the very next call. Two queries for a session (the session with its user, the space with the role).
 * Whoever reuses an answer (the gateway) drops it when this service says the tenancy changed
 * (`tenancyChangeNotices`) and at `validUntil`.
 */
@Injectable()
export class AuthorizeHandler {
  constructor(
    @Inject(ACCESS_TOKENS) private readonly accessTokens: AccessTokens,
    @Inject(READ_MODEL) private readonly readModel: TenancyReadModel,
  ) {}

  async authorize(cmd: { credential: string; space: string | null }): Promise<Authorization> {
    const { principal, validUntil } = await this.authenticate(
      cmd.credential.trim(),
      new Date().toISOString(),
    );
    if (cmd.space === null) return { principal, space: null, validUntil };
    const { exists, role } = await this.readModel.spaceAccess(cmd.space, principal.userId);
    return { principal, space: { name: cmd.space, exists, role }, validUntil };
  }

  private async authenticate(
    credential: string,
    now: string,
  ): Promise<{ principal: Principal; validUntil: string }> {
    const parsed = parseCredential(credential);
    if (parsed?.kind === 'pat') {
      const token = await this.readModel.apiToken(parsed.id);
      if (!token || !digestsEqual(token.secretSha256, sha256(parsed.secret)))
        throw unauthenticated('the API token is not valid');
      const status = apiTokenStatus(token, now);
      if (status !== 'active') throw unauthenticated(`the API token is ${status}`);
      const principal = await this.principal(token.userId, {
        via: 'token',
        sessionId: null,
        tokenId: token.id,
        tokenSpaces: token.spaces,
      });
      // Every token has an expiry (at most 90 days); one without would be valid until revoked.
      return { principal, validUntil: token.expiresAt ?? FOREVER };
    }
    if (parsed) throw unauthenticated('a refresh token is not an access token');
    const verified = this.accessTokens.verify(credential, now);
    if ('problem' in verified) throw unauthenticated(verified.problem);
    // The session and its user in one query: every authenticated request asks.
    const found = await this.readModel.sessionWithUser(verified.sessionId);
    const session = found?.session;
    if (!session || session.ended || session.userId !== verified.userId)
      throw unauthenticated('the session has ended; log in again');
    if (Date.parse(session.expiresAt) <= Date.parse(now))
      throw unauthenticated('the session has expired; log in again');
    const principal = this.principalOf(verified.userId, found.user, {
      via: 'session',
      sessionId: session.id,
      tokenId: null,
      tokenSpaces: null,
    });
    const validUntil =
      Date.parse(verified.expiresAt) < Date.parse(session.expiresAt) ? verified.expiresAt : session.expiresAt;
    return { principal, validUntil };
  }

  private async principal(
    userId: string,
    how: Pick<Principal, 'via' | 'sessionId' | 'tokenId' | 'tokenSpaces'>,
  ): Promise<Principal> {
    return this.principalOf(userId, await this.readModel.user(userId), how);
  }

  private principalOf(
    userId: string,
    user: UserView | null,
    how: Pick<Principal, 'via' | 'sessionId' | 'tokenId' | 'tokenSpaces'>,
  ): Principal {
    if (!user) throw unauthenticated('the user no longer exists');
    return {
      userId,
      email: user.email,
      displayName: user.displayName,
      platformRole: user.platformRole,
      ...how,
    };
  }
}

const FOREVER = '9999-12-31T23:59:59.999Z';

function unauthenticated(message: string): PierError {
  return new PierError('UNAUTHENTICATED', message);
}
