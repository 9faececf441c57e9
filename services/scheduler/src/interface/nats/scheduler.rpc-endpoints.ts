import {
  AddDomain,
  CountSpaceApps,
  CreateApp,
  CreateVersion,
  DeleteApp,
  DeleteSpaceApps,
  DeleteVersion,
  GetApp,
  ListAppEvents,
  ListApps,
  ListInstances,
  RemoveDomain,
  ScaleVersion,
  SetStickySessions,
  SetTraffic,
} from '@pier/contracts';
import { type RpcServer } from '@pier/messaging';
import { type AppsHandler } from '../../application/apps.handler';
import { type RuntimeReadModel } from '../../infrastructure/postgres/runtime.read-model';

/** The scheduler's request/reply surface. */
export function registerSchedulerEndpoints(
  server: RpcServer,
  apps: AppsHandler,
  readModel: RuntimeReadModel,
): void {
  server.handle(CreateApp, (req, meta) => apps.create(req, meta));
  server.handle(ListApps, (req) => readModel.apps(req.space, req));
  server.handle(GetApp, (req) => apps.view(req));
  server.handle(DeleteApp, (req, meta) => apps.delete(req, meta));
  server.handle(AddDomain, (req, meta) => apps.addDomain(req, meta));
  server.handle(RemoveDomain, (req, meta) => apps.removeDomain(req, meta));
  server.handle(CreateVersion, (req, meta) => apps.createVersion(req, meta));
  server.handle(DeleteVersion, (req, meta) => apps.deleteVersion(req, meta));
  server.handle(ScaleVersion, (req, meta) => apps.scale(req, meta));
  server.handle(SetTraffic, (req, meta) => apps.setTraffic(req, meta));
  server.handle(SetStickySessions, (req, meta) => apps.setStickySessions(req, meta));
  server.handle(CountSpaceApps, async (req) => ({ apps: (await readModel.appNames(req.space)).length }));
  server.handle(DeleteSpaceApps, (req, meta) => apps.deleteSpaceApps(req, meta));
  server.handle(ListInstances, async (req) => {
    await apps.view(req);
    return { items: await readModel.instances(req.space, req.app, req.includeStopped) };
  });
  server.handle(ListAppEvents, async (req) => {
    await apps.view(req);
    return readModel.events(req.space, req.app, req);
  });
}
