import { Inject, Injectable } from '@nestjs/common';
import {
  type Cause,
  type MemberView,
  PierError,
  type Quota,
  type SpaceRole,
  type SpaceView,
} from '@pier/contracts';
import { execute } from '@pier/eventstore';
import { type CommandContext } from '../../domain/clock';
import {
  createSpace,
  deleteSpace,
  removeMember,
  setMember,
  setQuota,
  updateSpace,
} from '../../domain/space/space.decide';
import { evolveSpace, type SpaceState } from '../../domain/space/space.state';
import { commandContext } from '../command-context';
import {
  EXCLUSIVE,
  type Exclusive,
  READ_MODEL,
  READ_MODEL_SYNC,
  type ReadModelSync,
  SPACE_APPS,
  SPACE_SETTINGS,
  type SpaceApps,
  SPACES,
  type SpaceRepository,
  type SpaceSettings,
  type TenancyReadModel,
} from '../ports';
import { SpaceDeletions } from './space-deletions';

/**
 * Spaces, their members and quotas. Each command answers only once the read model shows it, because the
 * read model is what authorizes the next request.
 */
@Injectable()
export class SpacesHandler {
  constructor(
    @Inject(SPACES) private readonly spaces: SpaceRepository,
    @Inject(READ_MODEL) private readonly readModel: TenancyReadModel,
    @Inject(READ_MODEL_SYNC) private readonly sync: ReadModelSync,
    @Inject(SPACE_SETTINGS) private readonly settings: SpaceSettings,
    @Inject(SPACE_APPS) private readonly apps: SpaceApps,
    @Inject(EXCLUSIVE) private readonly exclusive: Exclusive,
    private readonly deletions: SpaceDeletions,
  ) {}

  /**
   * A new organisation space with the platform's default quota. How many a user may own is checked one
   * creation at a time per user (every replica), so parallel creations cannot pass the limit together.
   */
  async create(
    cmd: { name: string; displayName?: string; ownerId: string },
    cause: Cause,
  ): Promise<SpaceView> {
    const create = () =>
      this.change(cmd.name, cause, (s, ctx) =>
        createSpace(
          s,
          {
            name: cmd.name,
            kind: 'organization',
            displayName: cmd.displayName ?? cmd.name,
            ownerId: cmd.ownerId,
            quota: this.settings.defaultQuota,
          },
          ctx,
        ),
      );
    const owner = await this.readModel.user(cmd.ownerId);
    const limit = owner?.platformRole === 'admin' ? null : this.settings.maxOwnedSpaces;
    if (limit === null) await create();
    else {
      await this.exclusive.run(`spaces-of:${cmd.ownerId}`, async () => {
        const owned = await this.readModel.ownedSpaceCount(cmd.ownerId);
        if (owned + 1 > limit) {
          throw new PierError(
            'QUOTA_EXCEEDED',
            `a user may own ${limit} spaces; this would be ${owned + 1}`,
            { quota: 'maxOwnedSpaces', limit, requested: owned + 1 },
          );
        }
        await create();
      });
    }
    return (await this.readModel.space(cmd.name))!;
  }

  async update(cmd: { space: string; displayName: string }, cause: Cause): Promise<SpaceView> {
    await this.change(cmd.space, cause, (s, ctx) =>
      updateSpace(s, { name: cmd.space, displayName: cmd.displayName }, ctx),
    );
    return (await this.readModel.space(cmd.space))!;
  }

  /**
   * Deletes a space: refused while it holds apps or secrets unless `cascade`, which deletes them as
   * events (apps stop first). Answers `deleted` when nothing was left to wait for, else `deleting`.
   */
  async delete(
    cmd: { space: string; cascade: boolean },
    cause: Cause,
  ): Promise<{ space: string; state: 'deleting' | 'deleted' }> {
    const contents = {
      apps: await this.apps.count(cmd.space),
      secrets: (await this.readModel.secrets(cmd.space)).length,
    };
    await this.change(cmd.space, cause, (s, ctx) =>
      deleteSpace(s, { name: cmd.space, cascade: cmd.cascade, contents }, ctx),
    );
    const gone = await this.deletions.pass(cmd.space, cause);
    return { space: cmd.space, state: gone ? 'deleted' : 'deleting' };
  }

  async setMember(
    cmd: { space: string; userId: string; role: SpaceRole },
    cause: Cause,
  ): Promise<MemberView> {
    if (!(await this.readModel.user(cmd.userId))) {
      throw new PierError('USER_NOT_FOUND', `user ${cmd.userId} does not exist`, { userId: cmd.userId });
    }
    await this.change(cmd.space, cause, (s, ctx) =>
      setMember(s, { name: cmd.space, userId: cmd.userId, role: cmd.role }, ctx),
    );
    return (await this.readModel.members(cmd.space)).find((m) => m.userId === cmd.userId)!;
  }

  async removeMember(
    cmd: { space: string; userId: string },
    cause: Cause,
  ): Promise<{ space: string; userId: string }> {
    await this.change(cmd.space, cause, (s, ctx) =>
      removeMember(s, { name: cmd.space, userId: cmd.userId }, ctx),
    );
    return cmd;
  }

  async setQuota(cmd: { space: string; quota: Quota }, cause: Cause): Promise<Quota> {
    await this.change(cmd.space, cause, (s, ctx) => setQuota(s, { name: cmd.space, quota: cmd.quota }, ctx));
    return (await this.readModel.quota(cmd.space))!;
  }

  private async change(
    space: string,
    cause: Cause,
    decide: (state: SpaceState | null, ctx: CommandContext) => ReturnType<typeof setMember>,
  ): Promise<void> {
    const ctx = commandContext(cause);
    const { version } = await execute(this.spaces, space, (s) => decide(s, ctx), evolveSpace);
    await this.sync.waitFor(version);
  }
}
