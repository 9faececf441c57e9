import { Injectable } from '@nestjs/common';
import { type DrainInstance, type RpcRequest, type RpcResponse } from '@pier/contracts';
import { RouteSynchronizer } from '../sync-routes/route-synchronizer';

/**
 * `DrainInstance`: asked by an agent before it stops an instance. Answers once this router sends the
 * instance no new request (requests it is serving finish); `drained: false` for an instance this router
 * does not know.
 */
@Injectable()
export class DrainInstanceHandler {
  constructor(private readonly routes: RouteSynchronizer) {}

  async execute(request: RpcRequest<typeof DrainInstance>): Promise<RpcResponse<typeof DrainInstance>> {
    return { instanceId: request.instanceId, drained: await this.routes.drain(request.instanceId) };
  }
}
