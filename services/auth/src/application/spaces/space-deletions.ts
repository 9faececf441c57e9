import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { type Cause, PierError, systemActor } from '@pier/contracts';
import { execute } from '@pier/eventstore';
import { type Logger } from '@pier/observability';
import { completeSpaceDeletion } from '../../domain/space/space.decide';
import { evolveSpace } from '../../domain/space/space.state';
import { commandContext } from '../command-context';
import {
  AUTH_LOGGER,
  READ_MODEL,
  READ_MODEL_SYNC,
  type ReadModelSync,
  SPACE_APPS,
  type SpaceApps,
  SPACES,
  type SpaceRepository,
  type TenancyReadModel,
} from '../ports';
import { SecretsHandler } from '../secrets/secrets.handler';

/**
 * Carries a space's deletion through: deletes its secrets, has the scheduler stop and delete its apps,
 * and appends `SpaceDeleted` once none is left. Every step is idempotent and a pass can be repeated at
 * any time, so every replica runs passes over every space being deleted (`sweep`), and an app or secret
 * created while the deletion began, or a replica that died half-way, is caught by a later pass.
 */
@Injectable()
export class SpaceDeletions {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    @Inject(SPACES) private readonly spaces: SpaceRepository,
    @Inject(READ_MODEL) private readonly readModel: TenancyReadModel,
    @Inject(READ_MODEL_SYNC) private readonly sync: ReadModelSync,
    @Inject(SPACE_APPS) private readonly apps: SpaceApps,
    @Inject(AUTH_LOGGER) private readonly logger: Logger,
    private readonly secrets: SecretsHandler,
  ) {}

  /** One pass over a space being deleted; answers whether it is gone. */
  async pass(space: string, cause: Cause): Promise<boolean> {
    for (const secret of await this.readModel.secrets(space)) {
      await this.secrets.delete({ space, name: secret.name }, cause).catch((error: unknown) => {
        if (!(error instanceof PierError && error.code === 'SECRET_NOT_FOUND')) throw error;
      });
    }
    const remaining = {
      apps: await this.apps.deleteAll(space, cause),
      secrets: (await this.readModel.secrets(space)).length,
    };
    const ctx = commandContext(cause);
    const { state, version, events } = await execute(
      this.spaces,
      space,
      (s) => completeSpaceDeletion(s, { remaining }, ctx),
      evolveSpace,
    );
    if (events.length > 0) await this.sync.waitFor(version);
    return !!state?.deleted;
  }

  /** Passes over every space being deleted, every `intervalMs`, until `stop`. */
  start(intervalMs: number): void {
    const tick = () => {
      this.sweeping = this.sweep().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, intervalMs);
      });
    };
    this.timer = setTimeout(tick, intervalMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }

  private async sweep(): Promise<void> {
    try {
      for (const space of await this.readModel.deletingSpaces()) {
        const id = randomUUID();
        await this.pass(space, { messageId: id, correlationId: id, actor: systemActor('auth') });
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'a space deletion pass failed; the next one retries');
    }
  }
}
