import {
  createMessage,
  type PlatformRole,
  PierError,
  UserEmailReserved,
  type UserEvent,
  UserRegistered,
} from '@pier/contracts';
import { type CommandContext } from '../clock';
import { passwordProblems, type PasswordStrengthEstimator } from './password-policy';
import { type UserState } from './user.state';

/** Refuses a weak password before anything is stored. */
export function assertStrongPassword(
  password: string,
  user: { email: string; displayName: string },
  estimator: PasswordStrengthEstimator,
): void {
  const problems = passwordProblems(password, user, estimator);
  if (problems.length > 0) {
    throw new PierError('WEAK_PASSWORD', `the password ${problems.join('; ')}`, {
      field: 'password',
      problems,
    });
  }
}

/** Reserves the address for `userId`; a reservation whose user never got registered may be taken over. */
export function reserveEmail(
  holder: { userId: string; registered: boolean } | null,
  cmd: { email: string; userId: string },
  ctx: CommandContext,
): [ReturnType<typeof createMessage<typeof UserEmailReserved>>] {
  if (holder && holder.registered)
    throw new PierError('EMAIL_TAKEN', `${cmd.email} is already registered`, { email: cmd.email });
  return [createMessage(UserEmailReserved, cmd, ctx.cause, ctx.now)];
}

export function registerUser(
  state: UserState | null,
  cmd: {
    userId: string;
    email: string;
    displayName: string;
    passwordHash: string;
    platformRole: PlatformRole;
    personalSpace: string;
  },
  ctx: CommandContext,
): UserEvent[] {
  if (state) return [];
  return [createMessage(UserRegistered, cmd, ctx.cause, ctx.now)];
}
