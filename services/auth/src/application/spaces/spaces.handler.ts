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
  READ_MODEL,
  READ_MODEL_SYNC,
  type ReadModelSync,
  SPACES,
  type SpaceRepository,
  type TenancyReadModel,
} from '../ports';

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
  ) {}

  async create(
    cmd: { name: string; displayName?: string; ownerId: string },
    cause: Cause,
  ): Promise<SpaceView> {
    await this.change(cmd.name, cause, (s, ctx) =>
      createSpace(
        s,
        {
          name: cmd.name,
          kind: 'organization',
          displayName: cmd.displayName ?? cmd.name,
          ownerId: cmd.ownerId,
        },
        ctx,
      ),
    );
    return (await this.readModel.space(cmd.name))!;
  }

  async update(cmd: { space: string; displayName: string }, cause: Cause): Promise<SpaceView> {
    await this.change(cmd.space, cause, (s, ctx) =>
      updateSpace(s, { name: cmd.space, displayName: cmd.displayName }, ctx),
    );
    return (await this.readModel.space(cmd.space))!;
  }

  async delete(cmd: { space: string }, cause: Cause): Promise<{ space: string }> {
    await this.change(cmd.space, cause, (s, ctx) => deleteSpace(s, { name: cmd.space }, ctx));
    return { space: cmd.space };
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
