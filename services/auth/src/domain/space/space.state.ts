import { type Quota, type SpaceEvent, type SpaceRole, unlimitedQuota } from '@pier/contracts';

export interface SpaceState {
  readonly name: string;
  readonly kind: 'personal' | 'organization';
  readonly displayName: string;
  readonly members: Readonly<Record<string, { readonly role: SpaceRole; readonly since: string }>>;
  readonly quota: Quota;
  /** Deletion began: its apps and secrets are going; the name stays taken until `deleted`. */
  readonly deleting: boolean;
  readonly deleted: boolean;
  readonly createdAt: string;
}

export function evolveSpace(state: SpaceState | null, event: SpaceEvent): SpaceState | null {
  const at = event.metadata.occurredAt;
  if (event.type === 'SpaceCreated') {
    // A deleted space's name can be taken again: the new space starts from nothing.
    return {
      name: event.data.space,
      kind: event.data.kind,
      displayName: event.data.displayName,
      members: {},
      quota: unlimitedQuota,
      deleting: false,
      deleted: false,
      createdAt: at,
    };
  }
  if (!state) return state;
  switch (event.type) {
    case 'SpaceUpdated':
      return { ...state, displayName: event.data.displayName };
    case 'SpaceMemberSet': {
      const since = state.members[event.data.userId]?.since ?? at;
      return {
        ...state,
        members: { ...state.members, [event.data.userId]: { role: event.data.role, since } },
      };
    }
    case 'SpaceMemberRemoved': {
      const { [event.data.userId]: _removed, ...rest } = state.members;
      return { ...state, members: rest };
    }
    case 'SpaceQuotaSet':
      return { ...state, quota: event.data.quota };
    case 'SpaceDeletionRequested':
      return { ...state, deleting: true };
    case 'SpaceDeleted':
      return { ...state, deleting: false, deleted: true };
  }
}

/** The space if it exists and was not deleted (it may be being deleted). */
export function liveSpace(state: SpaceState | null): SpaceState | null {
  return state && !state.deleted ? state : null;
}

/** The space if it exists and its deletion has not begun: the one its members work in. */
export function activeSpace(state: SpaceState | null): SpaceState | null {
  return state && !state.deleted && !state.deleting ? state : null;
}
