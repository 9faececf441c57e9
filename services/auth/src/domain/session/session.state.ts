import { type SessionEvent } from '@pier/contracts';

export interface SessionState {
  readonly id: string;
  readonly userId: string;
  readonly refreshSha256: string;
  readonly expiresAt: string;
  readonly ended: boolean;
}

export function evolveSession(state: SessionState | null, event: SessionEvent): SessionState | null {
  switch (event.type) {
    case 'SessionStarted':
      return {
        id: event.data.sessionId,
        userId: event.data.userId,
        refreshSha256: event.data.refreshSha256,
        expiresAt: event.data.expiresAt,
        ended: false,
      };
    case 'SessionRefreshed':
      return state && { ...state, refreshSha256: event.data.refreshSha256, expiresAt: event.data.expiresAt };
    case 'SessionEnded':
      return state && { ...state, ended: true };
  }
}
