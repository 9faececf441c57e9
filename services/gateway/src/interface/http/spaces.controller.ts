import { Controller, Inject } from '@nestjs/common';
import {
  CreateSpace,
  DeleteSpace,
  dnsLabelSchema,
  GetQuota,
  GetSpace,
  ListMembers,
  ListSpaces,
  memberViewSchema,
  plainText,
  type Principal,
  quotaSchema,
  RemoveMember,
  SetMember,
  SetQuota,
  spaceRoleSchema,
  spaceViewSchema,
  UpdateSpace,
} from '@pier/contracts';
import { type CallContext, type RpcClient } from '@pier/messaging';
import { z } from 'zod';
import { actsAsAdmin } from '../../domain/access';
import { ApiRoute, Input, pageQuery, route, type RouteInput, uuidParam } from './api-route';
import { Caller, CurrentPrincipal, RPC_CLIENT } from './caller';

const spaceParams = z.object({ space: dnsLabelSchema });
const memberParams = spaceParams.extend({ userId: uuidParam });

export const spaceRoutes = {
  list: route({
    method: 'GET',
    path: '/spaces',
    operationId: 'listSpaces',
    summary: 'Spaces the caller belongs to (every space, for platform admins), with their role',
    tag: 'spaces',
    query: pageQuery,
    status: 200,
    response: ListSpaces.response,
    errors: [],
    access: { kind: 'authenticated' },
  }),
  create: route({
    method: 'POST',
    path: '/spaces',
    operationId: 'createSpace',
    summary: 'Create an organisation space; the caller becomes its owner',
    tag: 'spaces',
    body: z.object({ name: dnsLabelSchema, displayName: plainText(100).optional() }).strict(),
    status: 201,
    response: spaceViewSchema,
    errors: ['SPACE_NAME_TAKEN', 'SPACE_DELETING', 'QUOTA_EXCEEDED', 'MALFORMED_JSON'],
    access: { kind: 'authenticated' },
  }),
  get: route({
    method: 'GET',
    path: '/spaces/{space}',
    operationId: 'getSpace',
    summary: 'Get a space',
    tag: 'spaces',
    params: spaceParams,
    status: 200,
    response: spaceViewSchema,
    errors: ['SPACE_NOT_FOUND'],
    access: { kind: 'space', permission: 'read' },
  }),
  update: route({
    method: 'PATCH',
    path: '/spaces/{space}',
    operationId: 'updateSpace',
    summary: 'Change a space’s display name',
    tag: 'spaces',
    params: spaceParams,
    body: z.object({ displayName: plainText(100) }).strict(),
    status: 200,
    response: spaceViewSchema,
    errors: ['SPACE_NOT_FOUND', 'MALFORMED_JSON'],
    access: { kind: 'space', permission: 'manage' },
  }),
  delete: route({
    method: 'DELETE',
    path: '/spaces/{space}',
    operationId: 'deleteSpace',
    summary:
      'Delete an organisation space. One holding apps or secrets is refused unless ?cascade=true, which stops and deletes every app and secret first (state "deleting" until done; the name is free once "deleted")',
    tag: 'spaces',
    params: spaceParams,
    query: z
      .object({
        cascade: z
          .enum(['true', 'false'])
          .default('false')
          .transform((v) => v === 'true'),
      })
      .strict(),
    status: 202,
    response: DeleteSpace.response,
    errors: ['SPACE_NOT_FOUND', 'PERSONAL_SPACE', 'SPACE_NOT_EMPTY'],
    access: { kind: 'space', permission: 'manage' },
  }),
  members: route({
    method: 'GET',
    path: '/spaces/{space}/members',
    operationId: 'listMembers',
    summary: 'Members of a space and their roles',
    tag: 'spaces',
    params: spaceParams,
    status: 200,
    response: z.object({ items: z.array(memberViewSchema) }),
    errors: ['SPACE_NOT_FOUND'],
    access: { kind: 'space', permission: 'read' },
  }),
  setMember: route({
    method: 'PUT',
    path: '/spaces/{space}/members/{userId}',
    operationId: 'setMember',
    summary: 'Add a member or change their role; the last owner cannot be demoted',
    tag: 'spaces',
    params: memberParams,
    body: z.object({ role: spaceRoleSchema }).strict(),
    status: 200,
    response: memberViewSchema,
    errors: ['SPACE_NOT_FOUND', 'USER_NOT_FOUND', 'LAST_OWNER', 'MALFORMED_JSON'],
    access: { kind: 'space', permission: 'manage' },
  }),
  removeMember: route({
    method: 'DELETE',
    path: '/spaces/{space}/members/{userId}',
    operationId: 'removeMember',
    summary: 'Remove a member (members may remove themselves); the last owner cannot leave',
    tag: 'spaces',
    params: memberParams,
    status: 200,
    response: z.object({ space: z.string(), userId: z.uuid() }),
    errors: ['SPACE_NOT_FOUND', 'MEMBER_NOT_FOUND', 'LAST_OWNER'],
    access: { kind: 'space', permission: 'manage', self: 'userId' },
  }),
  quota: route({
    method: 'GET',
    path: '/spaces/{space}/quota',
    operationId: 'getQuota',
    summary: 'The space’s quota (null = unlimited)',
    tag: 'spaces',
    params: spaceParams,
    status: 200,
    response: quotaSchema,
    errors: ['SPACE_NOT_FOUND'],
    access: { kind: 'space', permission: 'read' },
  }),
  setQuota: route({
    method: 'PUT',
    path: '/spaces/{space}/quota',
    operationId: 'setQuota',
    summary: 'Set the space’s quota (platform admins)',
    tag: 'spaces',
    params: spaceParams,
    body: quotaSchema,
    status: 200,
    response: quotaSchema,
    errors: ['SPACE_NOT_FOUND', 'MALFORMED_JSON'],
    access: { kind: 'admin' },
  }),
};

@Controller()
export class SpacesController {
  constructor(@Inject(RPC_CLIENT) private readonly rpc: RpcClient) {}

  @ApiRoute(spaceRoutes.list)
  async list(
    @Input() input: RouteInput<typeof spaceRoutes.list>,
    @CurrentPrincipal() p: Principal,
    @Caller() caller: CallContext,
  ) {
    const page = await this.rpc.call(
      ListSpaces,
      { ...input.query, memberId: actsAsAdmin(p) ? null : p.userId },
      caller,
    );
    return p.tokenSpaces === null
      ? page
      : { ...page, items: page.items.filter((s) => p.tokenSpaces!.includes(s.name)) };
  }

  @ApiRoute(spaceRoutes.create)
  create(
    @Input() input: RouteInput<typeof spaceRoutes.create>,
    @CurrentPrincipal() p: Principal,
    @Caller() caller: CallContext,
  ) {
    return this.rpc.call(CreateSpace, { ...input.body, ownerId: p.userId }, caller);
  }

  @ApiRoute(spaceRoutes.get)
  get(@Input() input: RouteInput<typeof spaceRoutes.get>, @Caller() caller: CallContext) {
    return this.rpc.call(GetSpace, input.params, caller);
  }

  @ApiRoute(spaceRoutes.update)
  update(@Input() input: RouteInput<typeof spaceRoutes.update>, @Caller() caller: CallContext) {
    return this.rpc.call(UpdateSpace, { ...input.params, ...input.body }, caller);
  }

  @ApiRoute(spaceRoutes.delete)
  delete(@Input() input: RouteInput<typeof spaceRoutes.delete>, @Caller() caller: CallContext) {
    return this.rpc.call(DeleteSpace, { ...input.params, cascade: input.query.cascade }, caller);
  }

  @ApiRoute(spaceRoutes.members)
  members(@Input() input: RouteInput<typeof spaceRoutes.members>, @Caller() caller: CallContext) {
    return this.rpc.call(ListMembers, input.params, caller);
  }

  @ApiRoute(spaceRoutes.setMember)
  setMember(@Input() input: RouteInput<typeof spaceRoutes.setMember>, @Caller() caller: CallContext) {
    return this.rpc.call(SetMember, { ...input.params, role: input.body.role }, caller);
  }

  @ApiRoute(spaceRoutes.removeMember)
  removeMember(@Input() input: RouteInput<typeof spaceRoutes.removeMember>, @Caller() caller: CallContext) {
    return this.rpc.call(RemoveMember, input.params, caller);
  }

  @ApiRoute(spaceRoutes.quota)
  quota(@Input() input: RouteInput<typeof spaceRoutes.quota>, @Caller() caller: CallContext) {
    return this.rpc.call(GetQuota, input.params, caller);
  }

  @ApiRoute(spaceRoutes.setQuota)
  setQuota(@Input() input: RouteInput<typeof spaceRoutes.setQuota>, @Caller() caller: CallContext) {
    return this.rpc.call(SetQuota, { ...input.params, quota: input.body }, caller);
  }
}
