import { DrainInstance } from '@pier/contracts';
import { type RpcServer } from '@pier/messaging';
import { type DrainInstanceHandler } from '../../application/drain-instance/drain-instance.handler';

export interface RouterHandlers {
  readonly drainInstance: DrainInstanceHandler;
}

/** The router's request/reply surface. */
export function registerRouterEndpoints(server: RpcServer, h: RouterHandlers): void {
  // Every router drives its own HAProxy: each must take the instance out, so each answers.
  server.handle(DrainInstance, (req, meta) => h.drainInstance.execute(req, meta.deadline), {
    everyReplica: true,
  });
}
