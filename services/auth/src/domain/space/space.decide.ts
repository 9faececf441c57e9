import {
  createMessage,
  PierError,
  type Quota,
  SpaceCreated,
  SpaceDeleted,
  SpaceDeletionRequested,
  type SpaceEvent,
  SpaceMemberRemoved,
  SpaceMemberSet,
  SpaceQuotaSet,
  type SpaceRole,
  SpaceUpdated,
} from '@pier/contracts';
import { type CommandContext } from '../clock';
import { activeSpace, liveSpace, type SpaceState } from './space.state';

/**
 * A new space, its creator as owner and, unless it is unlimited, the platform's default quota: a space
 * never starts without limits by accident.
 */
export function createSpace(
  state: SpaceState | null,
  cmd: {
    name: string;
    kind: 'personal' | 'organization';
    displayName: string;
    ownerId: string;
    quota?: Quota;
  },
  ctx: CommandContext,
): SpaceEvent[] {
  const existing = liveSpace(state);
  if (existing?.deleting)
    throw new PierError(
      'SPACE_DELETING',
      `space "${cmd.name}" is being deleted; its name is free once it is gone`,
      {
        space: cmd.name,
      },
    );
  if (existing)
    throw new PierError('SPACE_NAME_TAKEN', `a space named "${cmd.name}" already exists`, {
      space: cmd.name,
    });
  const events: SpaceEvent[] = [
    createMessage(
      SpaceCreated,
      { space: cmd.name, kind: cmd.kind, displayName: cmd.displayName, ownerId: cmd.ownerId },
      ctx.cause,
      ctx.now,
    ),
    createMessage(
      SpaceMemberSet,
      { space: cmd.name, userId: cmd.ownerId, role: 'owner' },
      ctx.cause,
      ctx.now,
    ),
  ];
  const quota = cmd.quota;
  if (quota && Object.values(quota).some((limit) => limit !== null))
    events.push(createMessage(SpaceQuotaSet, { space: cmd.name, quota }, ctx.cause, ctx.now));
  return events;
}

export function updateSpace(
  state: SpaceState | null,
  cmd: { name: string; displayName: string },
  ctx: CommandContext,
): SpaceEvent[] {
  const space = requireSpace(state, cmd.name);
  if (space.displayName === cmd.displayName) return [];
  return [
    createMessage(SpaceUpdated, { space: space.name, displayName: cmd.displayName }, ctx.cause, ctx.now),
  ];
}

/**
 * Starts deleting an organisation space (a personal one lives as long as its user). A space that still
 * holds apps or secrets is deleted only when the caller asks for the cascade; asking again while the
 * deletion runs changes nothing.
 */
export function deleteSpace(
  state: SpaceState | null,
  cmd: { name: string; cascade: boolean; contents: { apps: number; secrets: number } },
  ctx: CommandContext,
): SpaceEvent[] {
  const existing = liveSpace(state);
  if (existing?.deleting) return [];
  const space = requireSpace(state, cmd.name);
  if (space.kind === 'personal')
    throw new PierError('PERSONAL_SPACE', 'a personal space cannot be deleted', { space: space.name });
  const { apps, secrets } = cmd.contents;
  if (!cmd.cascade && apps + secrets > 0) {
    throw new PierError(
      'SPACE_NOT_EMPTY',
      `space ${space.name} still holds ${apps} app(s) and ${secrets} secret(s); delete them first, or ask for ?cascade=true`,
      { space: space.name, apps, secrets },
    );
  }
  return [
    createMessage(SpaceDeletionRequested, { space: space.name, cascade: cmd.cascade }, ctx.cause, ctx.now),
  ];
}

/** Completes a deletion once the space holds nothing any more. */
export function completeSpaceDeletion(
  state: SpaceState | null,
  cmd: { remaining: { apps: number; secrets: number } },
  ctx: CommandContext,
): SpaceEvent[] {
  if (!state || state.deleted || !state.deleting) return [];
  if (cmd.remaining.apps + cmd.remaining.secrets > 0) return [];
  return [createMessage(SpaceDeleted, { space: state.name }, ctx.cause, ctx.now)];
}

/** Adds a member or changes a role; the last owner cannot be demoted. */
export function setMember(
  state: SpaceState | null,
  cmd: { name: string; userId: string; role: SpaceRole },
  ctx: CommandContext,
): SpaceEvent[] {
  const space = requireSpace(state, cmd.name);
  const current = space.members[cmd.userId]?.role;
  if (current === cmd.role) return [];
  if (current === 'owner') assertAnotherOwner(space, cmd.userId, 'demoted');
  return [
    createMessage(
      SpaceMemberSet,
      { space: space.name, userId: cmd.userId, role: cmd.role },
      ctx.cause,
      ctx.now,
    ),
  ];
}

/** Removes a member (or a member leaves); the last owner cannot. */
export function removeMember(
  state: SpaceState | null,
  cmd: { name: string; userId: string },
  ctx: CommandContext,
): SpaceEvent[] {
  const space = requireSpace(state, cmd.name);
  const current = space.members[cmd.userId]?.role;
  if (!current)
    throw new PierError('MEMBER_NOT_FOUND', `user ${cmd.userId} is not a member of ${space.name}`, {
      userId: cmd.userId,
    });
  if (current === 'owner') assertAnotherOwner(space, cmd.userId, 'removed');
  return [createMessage(SpaceMemberRemoved, { space: space.name, userId: cmd.userId }, ctx.cause, ctx.now)];
}

export function setQuota(
  state: SpaceState | null,
  cmd: { name: string; quota: Quota },
  ctx: CommandContext,
): SpaceEvent[] {
  const space = requireSpace(state, cmd.name);
  const q = space.quota;
  const same = (Object.keys(cmd.quota) as (keyof Quota)[]).every((k) => q[k] === cmd.quota[k]);
  if (same) return [];
  return [createMessage(SpaceQuotaSet, { space: space.name, quota: cmd.quota }, ctx.cause, ctx.now)];
}

function assertAnotherOwner(space: SpaceState, userId: string, what: 'demoted' | 'removed'): void {
  const owners = Object.entries(space.members).filter(([id, m]) => m.role === 'owner' && id !== userId);
  if (owners.length === 0) {
    throw new PierError(
      'LAST_OWNER',
      `the last owner of ${space.name} cannot be ${what}; make someone else owner first`,
      { space: space.name },
    );
  }
}

/** The space to act on: one being deleted is gone for every command but the deletion's own. */
function requireSpace(state: SpaceState | null, name: string): SpaceState {
  const space = activeSpace(state);
  if (!space) throw new PierError('SPACE_NOT_FOUND', `space ${name} does not exist`, { space: name });
  return space;
}
