import { Injectable } from '@nestjs/common';
import { type DrainInstance, type RpcRequest, type RpcResponse } from '@pier/contracts';
import { RouteSynchronizer } from '../sync-routes/route-synchronizer';

/** What a drain keeps of the caller's deadline to apply the table and answer once it stops waiting. */
const ANSWER_MARGIN_MS = 500;

/**
 * `DrainInstance`: asked by an agent before it stops an instance. Answers once this router sends the
 * instance no new request (requests it is serving finish); `drained: false` for an instance this router
 * does not know. With `after`, it first waits (within the caller's deadline) for its route table to
 * hold the events up to that position (see `RouteSynchronizer.drain`).
 */
@Injectable()
export class DrainInstanceHandler {
  constructor(private readonly routes: RouteSynchronizer) {}

  async execute(
    request: RpcRequest<typeof DrainInstance>,
    deadline: number = Date.now(),
  ): Promise<RpcResponse<typeof DrainInstance>> {
    const drained = await this.routes.drain(request.instanceId, {
      ...(request.after !== undefined ? { after: request.after } : {}),
      deadline: deadline - ANSWER_MARGIN_MS,
    });
    return { instanceId: request.instanceId, drained };
  }
}
