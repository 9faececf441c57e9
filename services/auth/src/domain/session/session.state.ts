import { type SessionEvent } from '@pier/contracts';

export interface SessionState {
  readonly id: string;
  readonly userId: string;
  /** SHA-256 of the refresh secret that may be used next. */
  readonly refreshSha256: string;
  /**
   * SHA-256 of every refresh secret issued before the current one, all spent: presenting one of them
   * again means a copy leaked (or a client raced itself).
   */
  readonly spentSha256: readonly string[];
  /** End of the sliding window: the next refresh must come before it. */
  readonly expiresAt: string;
  /** When the session began, for its absolute lifetime. */
  readonly startedAt: string;
  readonly ended: boolean;
}

export function evolveSession(state: SessionState | null, event: SessionEvent): SessionState | null {
  switch (event.type) {
    case 'SessionStarted':
      return {
        id: event.data.sessionId,
        userId: event.data.userId,
        refreshSha256: event.data.refreshSha256,
        spentSha256: [],
        expiresAt: event.data.expiresAt,
        startedAt: event.metadata.occurredAt,
        ended: false,
      };
    case 'SessionRefreshed':
      return (
        state && {
          ...state,
          refreshSha256: event.data.refreshSha256,
          spentSha256: [...state.spentSha256, state.refreshSha256],
          expiresAt: event.data.expiresAt,
        }
      );
    case 'SessionEnded':
      return state && { ...state, ended: true };
  }
}
