import { Controller, Inject } from '@nestjs/common';
import {
  DeleteSecret,
  dnsLabelSchema,
  GetSecret,
  ListSecrets,
  secretViewSchema,
  StoreSecret,
} from '@pier/contracts';
import { type CallContext, type RpcClient } from '@pier/messaging';
import { z } from 'zod';
import { ApiRoute, Input, route, type RouteInput } from './api-route';
import { Caller, RPC_CLIENT } from './caller';

const spaceParams = z.object({ space: dnsLabelSchema });
const secretParams = spaceParams.extend({ name: dnsLabelSchema });

/** A secret's value by kind; validated in depth (and TLS material checked) by the auth service. */
const secretValue = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('generic'), data: z.record(z.string(), z.string()) }).strict(),
  z
    .object({ kind: z.literal('registry'), server: z.string(), username: z.string(), password: z.string() })
    .strict(),
  z.object({ kind: z.literal('tls'), certificate: z.string(), privateKey: z.string() }).strict(),
]);
const secretErrors = [
  'SECRET_INVALID',
  'TLS_CERTIFICATE_INVALID',
  'TLS_CHAIN_INVALID',
  'TLS_KEY_INVALID',
  'TLS_KEY_MISMATCH',
  'TLS_CERTIFICATE_EXPIRED',
  'TLS_CERTIFICATE_NOT_YET_VALID',
  'MALFORMED_JSON',
] as const;

export const secretRoutes = {
  list: route({
    method: 'GET',
    path: '/spaces/{space}/secrets',
    operationId: 'listSecrets',
    summary: 'Secrets of a space (metadata only, never values)',
    tag: 'secrets',
    params: spaceParams,
    status: 200,
    response: z.object({ items: z.array(secretViewSchema) }),
    errors: ['SPACE_NOT_FOUND'],
    access: { kind: 'space', permission: 'read' },
  }),
  create: route({
    method: 'POST',
    path: '/spaces/{space}/secrets',
    operationId: 'createSecret',
    summary: 'Store a secret: generic key/values, registry credentials or a TLS certificate and key',
    tag: 'secrets',
    params: spaceParams,
    body: z.object({ name: dnsLabelSchema, value: secretValue }).strict(),
    status: 201,
    response: secretViewSchema,
    errors: ['SPACE_NOT_FOUND', 'SECRET_NAME_TAKEN', ...secretErrors],
    access: { kind: 'space', permission: 'write' },
  }),
  get: route({
    method: 'GET',
    path: '/spaces/{space}/secrets/{name}',
    operationId: 'getSecret',
    summary: 'A secret’s metadata (kind, keys, registry, certificate expiry); its value is never returned',
    tag: 'secrets',
    params: secretParams,
    status: 200,
    response: secretViewSchema,
    errors: ['SPACE_NOT_FOUND', 'SECRET_NOT_FOUND'],
    access: { kind: 'space', permission: 'read' },
  }),
  replace: route({
    method: 'PUT',
    path: '/spaces/{space}/secrets/{name}',
    operationId: 'replaceSecret',
    summary: 'Give a secret a new value',
    tag: 'secrets',
    params: secretParams,
    body: z.object({ value: secretValue }).strict(),
    status: 200,
    response: secretViewSchema,
    errors: ['SPACE_NOT_FOUND', 'SECRET_NOT_FOUND', ...secretErrors],
    access: { kind: 'space', permission: 'write' },
  }),
  delete: route({
    method: 'DELETE',
    path: '/spaces/{space}/secrets/{name}',
    operationId: 'deleteSecret',
    summary: 'Delete a secret',
    tag: 'secrets',
    params: secretParams,
    status: 200,
    response: z.object({ space: z.string(), name: z.string() }),
    errors: ['SPACE_NOT_FOUND', 'SECRET_NOT_FOUND'],
    access: { kind: 'space', permission: 'write' },
  }),
};

@Controller()
export class SecretsController {
  constructor(@Inject(RPC_CLIENT) private readonly rpc: RpcClient) {}

  @ApiRoute(secretRoutes.list)
  list(@Input() input: RouteInput<typeof secretRoutes.list>, @Caller() caller: CallContext) {
    return this.rpc.call(ListSecrets, input.params, caller);
  }

  @ApiRoute(secretRoutes.create)
  create(@Input() input: RouteInput<typeof secretRoutes.create>, @Caller() caller: CallContext) {
    return this.rpc.call(
      StoreSecret,
      { ...input.params, name: input.body.name, mode: 'create', value: input.body.value },
      caller,
    );
  }

  @ApiRoute(secretRoutes.get)
  get(@Input() input: RouteInput<typeof secretRoutes.get>, @Caller() caller: CallContext) {
    return this.rpc.call(GetSecret, input.params, caller);
  }

  @ApiRoute(secretRoutes.replace)
  replace(@Input() input: RouteInput<typeof secretRoutes.replace>, @Caller() caller: CallContext) {
    return this.rpc.call(StoreSecret, { ...input.params, mode: 'replace', value: input.body.value }, caller);
  }

  @ApiRoute(secretRoutes.delete)
  delete(@Input() input: RouteInput<typeof secretRoutes.delete>, @Caller() caller: CallContext) {
    return this.rpc.call(DeleteSecret, input.params, caller);
  }
}
