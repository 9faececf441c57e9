import { type PlatformRole, type UserEvent } from '@pier/contracts';

export interface UserState {
  readonly id: string;
  readonly email: string;
  readonly displayName: string;
  readonly passwordHash: string;
  readonly platformRole: PlatformRole;
  readonly personalSpace: string;
}

export function evolveUser(state: UserState | null, event: UserEvent): UserState | null {
  switch (event.type) {
    case 'UserRegistered': {
      const d = event.data;
      return {
        id: d.userId,
        email: d.email,
        displayName: d.displayName,
        passwordHash: d.passwordHash,
        platformRole: d.platformRole,
        personalSpace: d.personalSpace,
      };
    }
    case 'UserPasswordChanged':
      return state && { ...state, passwordHash: event.data.passwordHash };
  }
}
