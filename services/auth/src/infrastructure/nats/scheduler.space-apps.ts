import { randomUUID } from 'node:crypto';
import { type Cause, CountSpaceApps, DeleteSpaceApps, systemActor } from '@pier/contracts';
import { type RpcClient } from '@pier/messaging';
import { type SpaceApps } from '../../application/ports';

/** A space's apps, asked of the scheduler, which owns them. */
export class SchedulerSpaceApps implements SpaceApps {
  constructor(private readonly rpc: RpcClient) {}

  async count(space: string): Promise<number> {
    const context = { actor: systemActor('auth'), correlationId: randomUUID() };
    return (await this.rpc.call(CountSpaceApps, { space }, context)).apps;
  }

  async deleteAll(space: string, cause: Cause): Promise<number> {
    // Each app's deletion waits for the scheduler's read model: a space with many apps takes a while.
    const context = { actor: cause.actor, correlationId: cause.correlationId, timeoutMs: 30_000 };
    return (await this.rpc.call(DeleteSpaceApps, { space }, context)).apps;
  }
}
