import { DrainInstance } from '@pier/contracts';
import { type RpcServer } from '@pier/messaging';
import { type DrainInstanceHandler } from '../../application/drain-instance/drain-instance.handler';

export interface RouterHandlers {
  readonly drainInstance: DrainInstanceHandler;
}

/** The router's request/reply surface. */
export function registerRouterEndpoints(server: RpcServer, h: RouterHandlers): void {
  server.handle(DrainInstance, (req) => h.drainInstance.execute(req));
}
