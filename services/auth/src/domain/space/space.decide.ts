import {
  createMessage,
  PierError,
  type Quota,
  SpaceCreated,
  SpaceDeleted,
  type SpaceEvent,
  SpaceMemberRemoved,
  SpaceMemberSet,
  SpaceQuotaSet,
  type SpaceRole,
  SpaceUpdated,
} from '@pier/contracts';
import { type CommandContext } from '../clock';
import { liveSpace, type SpaceState } from './space.state';

export function createSpace(
  state: SpaceState | null,
  cmd: { name: string; kind: 'personal' | 'organization'; displayName: string; ownerId: string },
  ctx: CommandContext,
): SpaceEvent[] {
  if (liveSpace(state))
    throw new PierError('SPACE_NAME_TAKEN', `a space named "${cmd.name}" already exists`, {
      space: cmd.name,
    });
  return [
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

/** A personal space lives as long as its user; organisation spaces can be deleted. */
export function deleteSpace(
  state: SpaceState | null,
  cmd: { name: string },
  ctx: CommandContext,
): SpaceEvent[] {
  const space = requireSpace(state, cmd.name);
  if (space.kind === 'personal')
    throw new PierError('PERSONAL_SPACE', 'a personal space cannot be deleted', { space: space.name });
  return [createMessage(SpaceDeleted, { space: space.name }, ctx.cause, ctx.now)];
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

function requireSpace(state: SpaceState | null, name: string): SpaceState {
  const space = liveSpace(state);
  if (!space) throw new PierError('SPACE_NOT_FOUND', `space ${name} does not exist`, { space: name });
  return space;
}
