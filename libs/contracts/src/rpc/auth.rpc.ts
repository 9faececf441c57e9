import { z } from 'zod';
import { emailSchema, platformRoleSchema, quotaSchema, spaceRoleSchema } from '../events/auth.events';
import { dnsLabelSchema, idSchema, isoDateTime } from '../primitives';
import { pageQuerySchema } from './clusters.rpc';
import { plainText } from '../text';
import { defineRpc } from './rpc';

const SERVICE = 'auth';
const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/** Who is calling, as established from a bearer credential. */
export const principalSchema = z.object({
  userId: idSchema,
  email: z.string(),
  displayName: z.string(),
  platformRole: platformRoleSchema,
  via: z.enum(['session', 'token']),
  sessionId: idSchema.nullable(),
  tokenId: idSchema.nullable(),
  /** Spaces an API token is limited to; null when it is not limited (or for a session). */
  tokenSpaces: z.array(z.string()).nullable(),
});
export type Principal = z.infer<typeof principalSchema>;

export const userViewSchema = z.object({
  id: idSchema,
  email: z.string(),
  displayName: z.string(),
  platformRole: platformRoleSchema,
  personalSpace: z.string(),
  createdAt: isoDateTime,
});
export type UserView = z.infer<typeof userViewSchema>;

export const sessionTokensSchema = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  /** Seconds until the access token expires. */
  expiresIn: z.number().int(),
  tokenType: z.literal('Bearer'),
});

export const apiTokenViewSchema = z.object({
  id: idSchema,
  name: z.string(),
  spaces: z.array(z.string()).nullable(),
  expiresAt: isoDateTime.nullable(),
  state: z.enum(['active', 'expired', 'revoked']),
  createdAt: isoDateTime,
});
export type ApiTokenView = z.infer<typeof apiTokenViewSchema>;

export const spaceViewSchema = z.object({
  name: z.string(),
  kind: z.enum(['personal', 'organization']),
  displayName: z.string(),
  quota: quotaSchema,
  memberCount: z.number().int(),
  createdAt: isoDateTime,
});
export type SpaceView = z.infer<typeof spaceViewSchema>;

export const memberViewSchema = z.object({
  userId: idSchema,
  email: z.string(),
  displayName: z.string(),
  role: spaceRoleSchema,
  since: isoDateTime,
});
export type MemberView = z.infer<typeof memberViewSchema>;

export const secretViewSchema = z.object({
  space: z.string(),
  name: z.string(),
  kind: z.enum(['generic', 'registry', 'tls']),
  /** What may be shown: key names, registry server and user, certificate subject and expiry. Never a value. */
  metadata: z.record(z.string(), z.unknown()),
  version: z.number().int(),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
});
export type SecretView = z.infer<typeof secretViewSchema>;

export const auditEntrySchema = z.object({
  id: z.string(),
  at: isoDateTime,
  actor: z.object({ kind: z.string(), id: z.string() }),
  correlationId: z.string(),
  action: z.string(),
  method: z.string(),
  path: z.string(),
  space: z.string().nullable(),
  target: z.record(z.string(), z.string()),
  /** 0 while `pending`. */
  status: z.number().int(),
  /**
   * `pending`: the request was accepted and may have acted, but its outcome was never recorded (the
   * gateway stopped before answering, or the outcome could not be stored).
   */
  outcome: z.enum(['succeeded', 'denied', 'failed', 'pending']),
  errorCode: z.string().nullable(),
  ip: z.string().nullable(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

/** A password as typed at login: any length check happens when it is set, not here. */
const loginPassword = z.string().min(1).max(1024);
/** A new password: length is checked here, strength by the auth service (WEAK_PASSWORD). */
export const newPasswordSchema = z.string().min(1, 'password is required').max(1024);

const secretName = dnsLabelSchema;

export const Authorize = defineRpc({
  service: SERVICE,
  name: 'authorize',
  kind: 'query',
  request: z.object({ credential: z.string().min(1).max(4096), space: dnsLabelSchema.nullable() }),
  response: z.object({
    principal: principalSchema,
    space: z.object({ name: z.string(), exists: z.boolean(), role: spaceRoleSchema.nullable() }).nullable(),
    /**
     * When the credential stops being valid by itself (the access token's, the session's or the API
     * token's expiry, whichever is first): until then the answer may be reused, unless the auth service
     * says the tenancy changed (`Subjects.tenancyChanged`).
     */
    validUntil: isoDateTime,
  }),
});

export const Login = defineRpc({
  service: SERVICE,
  name: 'login',
  kind: 'command',
  request: z.object({
    email: z.string().min(1).max(254),
    password: loginPassword,
    address: z.string().max(100).nullable(),
  }),
  response: sessionTokensSchema,
});

export const Refresh = defineRpc({
  service: SERVICE,
  name: 'refresh',
  kind: 'command',
  request: z.object({ refreshToken: z.string().min(1).max(500) }),
  response: sessionTokensSchema,
});

export const Logout = defineRpc({
  service: SERVICE,
  name: 'logout',
  kind: 'command',
  request: z.object({ sessionId: idSchema }),
  response: z.object({ sessionId: idSchema }),
});

export const RegisterUser = defineRpc({
  service: SERVICE,
  name: 'register-user',
  kind: 'command',
  request: z
    .object({
      email: emailSchema,
      displayName: plainText(100),
      password: newPasswordSchema,
      platformRole: platformRoleSchema.default('user'),
    })
    .strict(),
  response: userViewSchema,
});

export const ListUsers = defineRpc({
  service: SERVICE,
  name: 'list-users',
  kind: 'query',
  request: pageQuerySchema,
  response: page(userViewSchema),
});

export const GetUser = defineRpc({
  service: SERVICE,
  name: 'get-user',
  kind: 'query',
  request: z.object({ userId: idSchema }),
  response: userViewSchema,
});

export const CreateApiToken = defineRpc({
  service: SERVICE,
  name: 'create-api-token',
  kind: 'command',
  request: z
    .object({
      userId: idSchema,
      name: plainText(100),
      /** Absent: the platform's maximum token lifetime (capped at the calling token's own expiry). */
      expiresAt: isoDateTime.optional(),
      spaces: z.array(dnsLabelSchema).min(1).max(100).optional(),
      /**
       * The API token the request was made with (null or absent for a login session): a token only
       * creates tokens whose spaces and lifetime lie within its own. Set by the gateway, never by callers.
       */
      callerTokenId: idSchema.nullable().optional(),
    })
    .strict(),
  response: apiTokenViewSchema.extend({ token: z.string() }),
});

export const ListApiTokens = defineRpc({
  service: SERVICE,
  name: 'list-api-tokens',
  kind: 'query',
  /** With `callerTokenId` (set by the gateway), only the tokens within that token's own scope. */
  request: z.object({ userId: idSchema, callerTokenId: idSchema.nullable().optional() }),
  response: z.object({ items: z.array(apiTokenViewSchema) }),
});

export const RevokeApiToken = defineRpc({
  service: SERVICE,
  name: 'revoke-api-token',
  kind: 'command',
  /** With `callerTokenId` (set by the gateway), a token revokes only tokens within its own scope. */
  request: z.object({ userId: idSchema, tokenId: idSchema, callerTokenId: idSchema.nullable().optional() }),
  response: apiTokenViewSchema,
});

export const CreateSpace = defineRpc({
  service: SERVICE,
  name: 'create-space',
  kind: 'command',
  request: z.object({
    name: dnsLabelSchema,
    displayName: plainText(100).optional(),
    ownerId: idSchema,
  }),
  response: spaceViewSchema,
});

export const ListSpaces = defineRpc({
  service: SERVICE,
  name: 'list-spaces',
  kind: 'query',
  /** `memberId` null lists every space (platform admins). */
  request: pageQuerySchema.extend({ memberId: idSchema.nullable() }),
  response: page(spaceViewSchema.extend({ role: spaceRoleSchema.nullable() })),
});

const spaceRef = z.object({ space: dnsLabelSchema });

export const GetSpace = defineRpc({
  service: SERVICE,
  name: 'get-space',
  kind: 'query',
  request: spaceRef,
  response: spaceViewSchema,
});

export const UpdateSpace = defineRpc({
  service: SERVICE,
  name: 'update-space',
  kind: 'command',
  request: spaceRef.extend({ displayName: plainText(100) }),
  response: spaceViewSchema,
});

export const DeleteSpace = defineRpc({
  service: SERVICE,
  name: 'delete-space',
  kind: 'command',
  /**
   * Without `cascade`, a space holding apps or secrets is refused (SPACE_NOT_EMPTY). With it, every app
   * stops and is deleted and every secret is deleted; the space is `deleting` until then.
   */
  request: spaceRef.extend({ cascade: z.boolean().default(false) }),
  response: z.object({ space: z.string(), state: z.enum(['deleting', 'deleted']) }),
});

export const ListMembers = defineRpc({
  service: SERVICE,
  name: 'list-members',
  kind: 'query',
  request: spaceRef,
  response: z.object({ items: z.array(memberViewSchema) }),
});

export const SetMember = defineRpc({
  service: SERVICE,
  name: 'set-member',
  kind: 'command',
  request: spaceRef.extend({ userId: idSchema, role: spaceRoleSchema }),
  response: memberViewSchema,
});

export const RemoveMember = defineRpc({
  service: SERVICE,
  name: 'remove-member',
  kind: 'command',
  request: spaceRef.extend({ userId: idSchema }),
  response: z.object({ space: z.string(), userId: idSchema }),
});

export const GetQuota = defineRpc({
  service: SERVICE,
  name: 'get-quota',
  kind: 'query',
  request: spaceRef,
  response: quotaSchema,
});

export const SetQuota = defineRpc({
  service: SERVICE,
  name: 'set-quota',
  kind: 'command',
  request: spaceRef.extend({ quota: quotaSchema }),
  response: quotaSchema,
});

export const ListSecrets = defineRpc({
  service: SERVICE,
  name: 'list-secrets',
  kind: 'query',
  request: spaceRef,
  response: z.object({ items: z.array(secretViewSchema) }),
});

export const GetSecret = defineRpc({
  service: SERVICE,
  name: 'get-secret',
  kind: 'query',
  request: spaceRef.extend({ name: secretName }),
  response: secretViewSchema,
});

export const StoreSecret = defineRpc({
  service: SERVICE,
  name: 'store-secret',
  kind: 'command',
  /** `mode` create fails on an existing name, replace on a missing one. `value` is validated by kind. */
  request: spaceRef.extend({ name: secretName, mode: z.enum(['create', 'replace']), value: z.unknown() }),
  response: secretViewSchema,
});

export const DeleteSecret = defineRpc({
  service: SERVICE,
  name: 'delete-secret',
  kind: 'command',
  request: spaceRef.extend({ name: secretName }),
  response: z.object({ space: z.string(), name: z.string() }),
});

/** For platform services and node agents only: the decrypted value of a secret. */
export const RevealSecret = defineRpc({
  service: SERVICE,
  name: 'reveal-secret',
  kind: 'query',
  request: spaceRef.extend({
    name: secretName,
    caller: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('service'), token: z.string().min(1).max(500) }),
      z.object({ kind: z.literal('node'), nodeId: idSchema, credential: z.string().min(1).max(500) }),
    ]),
  }),
  response: z.object({ value: z.unknown() }),
});

export const auditQuerySchema = pageQuerySchema.extend({
  actor: z.string().max(200).optional(),
  action: z.string().max(100).optional(),
  from: isoDateTime.optional(),
  to: isoDateTime.optional(),
});

export const ListAudit = defineRpc({
  service: SERVICE,
  name: 'list-audit',
  kind: 'query',
  request: auditQuerySchema.extend({ space: dnsLabelSchema.nullable() }),
  response: page(auditEntrySchema),
});
