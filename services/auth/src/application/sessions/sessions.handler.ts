import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { type Cause, PierError } from '@pier/contracts';
import { execute } from '@pier/eventstore';
import { formatCredential, parseCredential } from '../../domain/credentials';
import {
  endSession,
  refreshSession,
  type SessionLifetime,
  startSession,
} from '../../domain/session/session.decide';
import { evolveSession } from '../../domain/session/session.state';
import { commandContext, newSecret, sha256 } from '../command-context';
import {
  ACCESS_TOKENS,
  type AccessTokens,
  AUTH_SETTINGS,
  type AuthSettings,
  EMAILS,
  type EmailRepository,
  LOGIN_THROTTLE,
  type LoginThrottle,
  PASSWORD_HASHER,
  type PasswordHasher,
  READ_MODEL_SYNC,
  type ReadModelSync,
  SESSIONS,
  type SessionRepository,
  USERS,
  type UserRepository,
} from '../ports';
import { emailKey } from '../users/users.handler';

/** Hash of a password nobody has, verified when the email is unknown so both paths cost the same. */
const DECOY_HASH = 'scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export interface SessionTokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tokenType: 'Bearer';
}

/**
 * Login (throttled per account-and-address pair and per address), refresh-token rotation within a
 * sliding and an absolute lifetime, and logout.
 */
@Injectable()
export class SessionsHandler {
  constructor(
    @Inject(USERS) private readonly users: UserRepository,
    @Inject(EMAILS) private readonly emails: EmailRepository,
    @Inject(SESSIONS) private readonly sessions: SessionRepository,
    @Inject(PASSWORD_HASHER) private readonly hasher: PasswordHasher,
    @Inject(ACCESS_TOKENS) private readonly accessTokens: AccessTokens,
    @Inject(LOGIN_THROTTLE) private readonly throttle: LoginThrottle,
    @Inject(READ_MODEL_SYNC) private readonly sync: ReadModelSync,
    @Inject(AUTH_SETTINGS) private readonly settings: AuthSettings,
  ) {}

  async login(
    cmd: { email: string; password: string; address: string | null },
    cause: Cause,
  ): Promise<SessionTokens> {
    const ctx = commandContext(cause);
    const attempt = { email: cmd.email.trim().toLowerCase(), address: cmd.address };
    // Counted as a failure before the password is checked, so parallel guesses cannot outrun the count.
    const wait = await this.throttle.reserve(attempt, ctx.now);
    if (wait > 0) {
      throw new PierError('RATE_LIMITED', 'too many failed logins; try again later', {
        retryAfterSeconds: wait,
      });
    }
    const { state: userId } = await this.emails.load(emailKey(attempt.email));
    const user = userId ? (await this.users.load(userId)).state : null;
    const valid = await this.hasher.verify(cmd.password, user?.passwordHash ?? DECOY_HASH);
    if (!user || !valid) throw new PierError('INVALID_CREDENTIALS', 'wrong email or password');
    await this.throttle.succeeded(attempt);
    const sessionId = randomUUID();
    const secret = newSecret();
    const { version } = await execute(
      this.sessions,
      sessionId,
      (s) =>
        startSession(
          s,
          {
            sessionId,
            userId: user.id,
            refreshSha256: sha256(secret),
            ...this.lifetime(),
          },
          ctx,
        ),
      evolveSession,
    );
    await this.sync.waitFor(version);
    return this.tokens(user.id, sessionId, secret, ctx.now);
  }

  async refresh(cmd: { refreshToken: string }, cause: Cause): Promise<SessionTokens> {
    const ctx = commandContext(cause);
    const parsed = parseCredential(cmd.refreshToken);
    if (!parsed || parsed.kind !== 'prt')
      throw new PierError('UNAUTHENTICATED', 'the refresh token is malformed');
    const next = newSecret();
    const { state, version, events } = await execute(
      this.sessions,
      parsed.id,
      (s) =>
        refreshSession(
          s,
          {
            presentedSha256: sha256(parsed.secret),
            nextSha256: sha256(next),
            ...this.lifetime(),
          },
          ctx,
        ),
      evolveSession,
    );
    await this.sync.waitFor(version);
    if (events[0]?.type === 'SessionEnded' || !state) {
      throw new PierError(
        'UNAUTHENTICATED',
        'the refresh token was already used; the session has been ended',
      );
    }
    return this.tokens(state.userId, state.id, next, ctx.now);
  }

  async logout(cmd: { sessionId: string }, cause: Cause): Promise<{ sessionId: string }> {
    const ctx = commandContext(cause);
    const { version } = await execute(
      this.sessions,
      cmd.sessionId,
      (s) => endSession(s, cmd, ctx),
      evolveSession,
    );
    await this.sync.waitFor(version);
    return { sessionId: cmd.sessionId };
  }

  private lifetime(): SessionLifetime {
    return {
      ttlSeconds: this.settings.refreshTokenTtlSeconds,
      maxLifetimeSeconds: this.settings.sessionMaxLifetimeSeconds,
    };
  }

  private tokens(userId: string, sessionId: string, refreshSecret: string, now: string): SessionTokens {
    const access = this.accessTokens.issue({ userId, sessionId }, now);
    return {
      accessToken: access.token,
      refreshToken: formatCredential('prt', sessionId, refreshSecret),
      expiresIn: access.expiresIn,
      tokenType: 'Bearer',
    };
  }
}
