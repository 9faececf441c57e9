import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { type Cause, PierError, type PlatformRole, systemActor, type UserView } from '@pier/contracts';
import { execute } from '@pier/eventstore';
import { createSpace } from '../../domain/space/space.decide';
import { evolveSpace } from '../../domain/space/space.state';
import { type PasswordStrengthEstimator } from '../../domain/user/password-policy';
import { personalSpaceName } from '../../domain/user/personal-space-name';
import { assertStrongPassword, registerUser, reserveEmail } from '../../domain/user/user.decide';
import { evolveUser } from '../../domain/user/user.state';
import { commandContext, sha256 } from '../command-context';
import {
  EMAILS,
  type EmailRepository,
  PASSWORD_HASHER,
  PASSWORD_STRENGTH,
  type PasswordHasher,
  READ_MODEL,
  READ_MODEL_SYNC,
  type ReadModelSync,
  SPACE_SETTINGS,
  SPACES,
  type SpaceRepository,
  type SpaceSettings,
  type TenancyReadModel,
  USERS,
  type UserRepository,
} from '../ports';

/** The aggregate id of an email reservation (addresses contain characters subjects cannot). */
export const emailKey = (email: string): string => sha256(email.trim().toLowerCase());

/**
 * Registers users. Everything is checked before anything is written (password length and strength,
 * scored against the user's own email and name; address format), then the address is reserved — of
 * two registrations with one address exactly one wins — then the personal space and the user are
 * created.
 */
@Injectable()
export class UsersHandler {
  constructor(
    @Inject(USERS) private readonly users: UserRepository,
    @Inject(EMAILS) private readonly emails: EmailRepository,
    @Inject(SPACES) private readonly spaces: SpaceRepository,
    @Inject(PASSWORD_HASHER) private readonly hasher: PasswordHasher,
    @Inject(READ_MODEL) private readonly readModel: TenancyReadModel,
    @Inject(READ_MODEL_SYNC) private readonly sync: ReadModelSync,
    @Inject(PASSWORD_STRENGTH) private readonly strength: PasswordStrengthEstimator,
    @Inject(SPACE_SETTINGS) private readonly spaceSettings: SpaceSettings,
  ) {}

  async register(
    cmd: { email: string; displayName: string; password: string; platformRole: PlatformRole },
    cause: Cause,
  ): Promise<UserView> {
    const ctx = commandContext(cause);
    const email = cmd.email.trim().toLowerCase();
    assertStrongPassword(cmd.password, { email, displayName: cmd.displayName }, this.strength);
    const userId = randomUUID();
    await this.reserve(email, userId, ctx);
    const passwordHash = await this.hasher.hash(cmd.password);
    const personalSpace = await this.createPersonalSpace(email, userId, cmd.displayName, ctx);
    const { version } = await execute(
      this.users,
      userId,
      (s) =>
        registerUser(
          s,
          {
            userId,
            email,
            displayName: cmd.displayName,
            passwordHash,
            platformRole: cmd.platformRole,
            personalSpace,
          },
          ctx,
        ),
      evolveUser,
    );
    await this.sync.waitFor(version);
    return (await this.readModel.user(userId))!;
  }

  /**
   * Makes sure the first platform admin exists (from PIER_ADMIN_EMAIL / PIER_ADMIN_PASSWORD). Runs at
   * every start; does nothing once the address is registered.
   */
  async ensureAdmin(email: string, password: string): Promise<'created' | 'exists'> {
    const { state: holder } = await this.emails.load(emailKey(email));
    if (holder && (await this.users.load(holder)).state) return 'exists';
    const id = randomUUID();
    await this.register(
      { email, displayName: 'Administrator', password, platformRole: 'admin' },
      { messageId: id, correlationId: id, actor: systemActor('auth') },
    );
    return 'created';
  }

  private async reserve(
    email: string,
    userId: string,
    ctx: ReturnType<typeof commandContext>,
  ): Promise<void> {
    const key = emailKey(email);
    const { state: holder, version } = await this.emails.load(key);
    const registered = holder ? !!(await this.users.load(holder)).state : false;
    const events = reserveEmail(holder ? { userId: holder, registered } : null, { email, userId }, ctx);
    try {
      await this.emails.append(key, events, version);
    } catch (error) {
      if (error instanceof PierError && error.code === 'CONCURRENCY_CONFLICT') {
        throw new PierError('EMAIL_TAKEN', `${email} is already registered`, { email });
      }
      throw error;
    }
  }

  private async createPersonalSpace(
    email: string,
    userId: string,
    displayName: string,
    ctx: ReturnType<typeof commandContext>,
  ): Promise<string> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const name = personalSpaceName(email, attempt);
      try {
        await execute(
          this.spaces,
          name,
          (s) =>
            createSpace(
              s,
              {
                name,
                kind: 'personal',
                displayName,
                ownerId: userId,
                quota: this.spaceSettings.defaultQuota,
              },
              ctx,
            ),
          evolveSpace,
          1,
        );
        return name;
      } catch (error) {
        if (!(
          error instanceof PierError &&
          (error.code === 'SPACE_NAME_TAKEN' || error.code === 'CONCURRENCY_CONFLICT')
        ))
          throw error;
      }
    }
    throw new PierError('SPACE_NAME_TAKEN', 'no free name for the personal space');
  }
}
