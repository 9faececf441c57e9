import { Controller, Inject } from '@nestjs/common';
import {
  AddDomain,
  appEventViewSchema,
  appViewSchema,
  CreateApp,
  CreateVersion,
  DeleteApp,
  DeleteVersion,
  dnsLabelSchema,
  GetApp,
  hostnameSchema,
  instanceViewSchema,
  ListAppEvents,
  ListApps,
  ListInstances,
  type Principal,
  RemoveDomain,
  ScaleVersion,
  SetStickySessions,
  SetTraffic,
  versionSpecSchema,
  versionViewSchema,
  weightsSchema,
} from '@pier/contracts';
import { type CallContext, type RpcClient } from '@pier/messaging';
import { POLICY_VIOLATION_CODES } from '@pier/policy';
import { z } from 'zod';
import { actsAsAdmin } from '../../domain/access';
import { ApiRoute, decimalParam, Input, pageQuery, route, type RouteInput } from './api-route';
import { Caller, CurrentPrincipal, RPC_CLIENT } from './caller';

const spaceParams = z.object({ space: dnsLabelSchema });
const appParams = spaceParams.extend({ app: dnsLabelSchema });
const versionParams = appParams.extend({ version: decimalParam(1, 999_999) });
const instancesBody = z.object({ instances: z.number().int().min(0).max(10_000) }).strict();
const read = { kind: 'space', permission: 'read' } as const;
const write = { kind: 'space', permission: 'write' } as const;
const appErrors = ['SPACE_NOT_FOUND', 'APP_NOT_FOUND'] as const;

const versionCommand = (action: 'deploy' | 'scale' | 'stop', summary: string) =>
  route({
    method: 'POST',
    path: `/spaces/{space}/apps/{app}/versions/{version}/${action}`,
    operationId: `${action}Version`,
    summary,
    tag: 'apps',
    params: versionParams,
    ...(action === 'stop' ? {} : { body: instancesBody }),
    status: 202,
    response: appViewSchema,
    errors: [...appErrors, 'VERSION_NOT_FOUND', 'APP_DELETING', 'QUOTA_EXCEEDED'],
    access: write,
  });

export const appRoutes = {
  create: route({
    method: 'POST',
    path: '/spaces/{space}/apps',
    operationId: 'createApp',
    summary: 'Create an app on a cluster; it gets the domain <app>.<space>.<base domain>',
    tag: 'apps',
    params: spaceParams,
    body: z
      .object({
        name: dnsLabelSchema,
        cluster: z.string().min(1).max(100),
        stickySessions: z.boolean().optional(),
      })
      .strict(),
    status: 201,
    response: appViewSchema,
    errors: ['SPACE_NOT_FOUND', 'APP_NAME_TAKEN', 'CLUSTER_NOT_FOUND', 'QUOTA_EXCEEDED'],
    access: write,
  }),
  list: route({
    method: 'GET',
    path: '/spaces/{space}/apps',
    operationId: 'listApps',
    summary: 'Apps of a space with their deployment',
    tag: 'apps',
    params: spaceParams,
    query: pageQuery,
    status: 200,
    response: ListApps.response,
    errors: ['SPACE_NOT_FOUND'],
    access: read,
  }),
  get: route({
    method: 'GET',
    path: '/spaces/{space}/apps/{app}',
    operationId: 'getApp',
    summary: 'An app with its deployment: versions, desired and ready instances, weights, health',
    tag: 'apps',
    params: appParams,
    status: 200,
    response: appViewSchema,
    errors: [...appErrors],
    access: read,
  }),
  update: route({
    method: 'PATCH',
    path: '/spaces/{space}/apps/{app}',
    operationId: 'updateApp',
    summary:
      'Change an app’s settings: sticky sessions keep a client on the version and instance it first got',
    tag: 'apps',
    params: appParams,
    body: z.object({ stickySessions: z.boolean() }).strict(),
    status: 200,
    response: appViewSchema,
    errors: [...appErrors, 'APP_DELETING'],
    access: write,
  }),
  delete: route({
    method: 'DELETE',
    path: '/spaces/{space}/apps/{app}',
    operationId: 'deleteApp',
    summary: 'Delete an app: every instance stops first',
    tag: 'apps',
    params: appParams,
    status: 202,
    response: DeleteApp.response,
    errors: [...appErrors],
    access: write,
  }),
  addDomain: route({
    method: 'POST',
    path: '/spaces/{space}/apps/{app}/domains',
    operationId: 'addDomain',
    summary:
      'Serve the app on a custom domain too: hosts outside the base domain, or deeper hosts in the space’s own namespace (*.<space>.<base>); other hosts under the base domain are for platform admins',
    tag: 'apps',
    params: appParams,
    body: z.object({ host: hostnameSchema }).strict(),
    status: 200,
    response: appViewSchema,
    errors: [...appErrors, 'DOMAIN_TAKEN', 'DOMAIN_RESERVED', 'APP_DELETING'],
    access: write,
  }),
  removeDomain: route({
    method: 'DELETE',
    path: '/spaces/{space}/apps/{app}/domains/{host}',
    operationId: 'removeDomain',
    summary: 'Stop serving the app on a custom domain',
    tag: 'apps',
    params: appParams.extend({ host: hostnameSchema }),
    status: 200,
    response: appViewSchema,
    errors: [...appErrors, 'DOMAIN_NOT_FOUND'],
    access: write,
  }),
  createVersion: route({
    method: 'POST',
    path: '/spaces/{space}/apps/{app}/versions',
    operationId: 'createVersion',
    summary: 'Create an immutable version: image, command, env, ports, resources, probes, stop, placement',
    tag: 'apps',
    params: appParams,
    body: versionSpecSchema,
    status: 201,
    response: versionViewSchema,
    errors: [...appErrors, 'APP_DELETING', 'SECRET_NOT_FOUND', ...POLICY_VIOLATION_CODES],
    access: write,
  }),
  deleteVersion: route({
    method: 'DELETE',
    path: '/spaces/{space}/apps/{app}/versions/{version}',
    operationId: 'deleteVersion',
    summary: 'Delete a version that runs nothing',
    tag: 'apps',
    params: versionParams,
    status: 200,
    response: DeleteVersion.response,
    errors: [...appErrors, 'VERSION_NOT_FOUND', 'VERSION_HAS_INSTANCES'],
    access: write,
  }),
  deploy: versionCommand(
    'deploy',
    'Run a version with this many instances (next to the running ones: a gray release)',
  ),
  scale: versionCommand('scale', 'Change how many instances of a version run'),
  stop: versionCommand('stop', 'Stop every instance of a version; its traffic moves to the others'),
  traffic: route({
    method: 'PUT',
    path: '/spaces/{space}/apps/{app}/traffic',
    operationId: 'setTraffic',
    summary: 'Split traffic between versions (percent, two decimals, summing to 100)',
    tag: 'apps',
    params: appParams,
    body: z.object({ weights: weightsSchema }).strict(),
    status: 200,
    response: appViewSchema,
    errors: [...appErrors, 'VERSION_NOT_FOUND', 'VERSION_NOT_DEPLOYED', 'APP_DELETING'],
    access: write,
  }),
  instances: route({
    method: 'GET',
    path: '/spaces/{space}/apps/{app}/instances',
    operationId: 'listInstances',
    summary: 'Instances: version, node, state, host port, restarts, started at, reason, last probe result',
    tag: 'apps',
    params: appParams,
    query: z
      .object({
        includeStopped: z
          .enum(['true', 'false'])
          .default('false')
          .transform((v) => v === 'true'),
      })
      .strict(),
    status: 200,
    response: z.object({ items: z.array(instanceViewSchema) }),
    errors: [...appErrors],
    access: read,
  }),
  events: route({
    method: 'GET',
    path: '/spaces/{space}/apps/{app}/events',
    operationId: 'listAppEvents',
    summary: 'The app’s activity feed, newest first',
    tag: 'apps',
    params: appParams,
    query: pageQuery,
    status: 200,
    response: z.object({ items: z.array(appEventViewSchema), nextCursor: z.string().nullable() }),
    errors: [...appErrors],
    access: read,
  }),
};

@Controller()
export class AppsController {
  constructor(@Inject(RPC_CLIENT) private readonly rpc: RpcClient) {}

  @ApiRoute(appRoutes.create)
  create(@Input() i: RouteInput<typeof appRoutes.create>, @Caller() c: CallContext) {
    return this.rpc.call(
      CreateApp,
      {
        space: i.params.space,
        app: i.body.name,
        cluster: i.body.cluster,
        stickySessions: i.body.stickySessions ?? false,
      },
      c,
    );
  }

  @ApiRoute(appRoutes.list)
  list(@Input() i: RouteInput<typeof appRoutes.list>, @Caller() c: CallContext) {
    return this.rpc.call(ListApps, { ...i.query, space: i.params.space }, c);
  }

  @ApiRoute(appRoutes.get)
  get(@Input() i: RouteInput<typeof appRoutes.get>, @Caller() c: CallContext) {
    return this.rpc.call(GetApp, i.params, c);
  }

  @ApiRoute(appRoutes.update)
  update(@Input() i: RouteInput<typeof appRoutes.update>, @Caller() c: CallContext) {
    return this.rpc.call(SetStickySessions, { ...i.params, enabled: i.body.stickySessions }, c);
  }

  @ApiRoute(appRoutes.delete)
  delete(@Input() i: RouteInput<typeof appRoutes.delete>, @Caller() c: CallContext) {
    return this.rpc.call(DeleteApp, i.params, c);
  }

  @ApiRoute(appRoutes.addDomain)
  addDomain(
    @Input() i: RouteInput<typeof appRoutes.addDomain>,
    @CurrentPrincipal() p: Principal,
    @Caller() c: CallContext,
  ) {
    return this.rpc.call(AddDomain, { ...i.params, host: i.body.host, platformAdmin: actsAsAdmin(p) }, c);
  }

  @ApiRoute(appRoutes.removeDomain)
  removeDomain(@Input() i: RouteInput<typeof appRoutes.removeDomain>, @Caller() c: CallContext) {
    return this.rpc.call(RemoveDomain, i.params, c);
  }

  @ApiRoute(appRoutes.createVersion)
  createVersion(
    @Input() i: RouteInput<typeof appRoutes.createVersion>,
    @CurrentPrincipal() p: Principal,
    @Caller() c: CallContext,
  ) {
    return this.rpc.call(CreateVersion, { ...i.params, spec: i.body, platformAdmin: actsAsAdmin(p) }, c);
  }

  @ApiRoute(appRoutes.deleteVersion)
  deleteVersion(@Input() i: RouteInput<typeof appRoutes.deleteVersion>, @Caller() c: CallContext) {
    return this.rpc.call(DeleteVersion, i.params, c);
  }

  @ApiRoute(appRoutes.deploy)
  deploy(@Input() i: RouteInput<typeof appRoutes.deploy>, @Caller() c: CallContext) {
    return this.rpc.call(
      ScaleVersion,
      { ...i.params, instances: (i.body as { instances: number }).instances, reason: 'deploy' },
      c,
    );
  }

  @ApiRoute(appRoutes.scale)
  scale(@Input() i: RouteInput<typeof appRoutes.scale>, @Caller() c: CallContext) {
    return this.rpc.call(
      ScaleVersion,
      { ...i.params, instances: (i.body as { instances: number }).instances, reason: 'scale' },
      c,
    );
  }

  @ApiRoute(appRoutes.stop)
  stop(@Input() i: RouteInput<typeof appRoutes.stop>, @Caller() c: CallContext) {
    return this.rpc.call(ScaleVersion, { ...i.params, instances: 0, reason: 'stop' }, c);
  }

  @ApiRoute(appRoutes.traffic)
  traffic(@Input() i: RouteInput<typeof appRoutes.traffic>, @Caller() c: CallContext) {
    return this.rpc.call(SetTraffic, { ...i.params, weights: i.body.weights }, c);
  }

  @ApiRoute(appRoutes.instances)
  instances(@Input() i: RouteInput<typeof appRoutes.instances>, @Caller() c: CallContext) {
    return this.rpc.call(ListInstances, { ...i.params, includeStopped: i.query.includeStopped }, c);
  }

  @ApiRoute(appRoutes.events)
  events(@Input() i: RouteInput<typeof appRoutes.events>, @Caller() c: CallContext) {
    return this.rpc.call(ListAppEvents, { ...i.params, ...i.query }, c);
  }
}
