import { z } from 'zod';
import { defineMessage, type MessageOf } from '../message';
import { dnsLabelSchema, idSchema, isoDateTime } from '../primitives';

/** Aggregate types of the tenancy context. */
export const USER = 'user';
export const USER_EMAIL = 'user-email';
export const SESSION = 'session';
export const API_TOKEN = 'api-token';
export const SPACE = 'space';
export const SECRET = 'secret';
export const AUDIT = 'audit';
/** Audit subject of requests that concern no space. */
export const PLATFORM_AUDIT_ID = '_platform';

export const platformRoleSchema = z.enum(['admin', 'user']);
export type PlatformRole = z.infer<typeof platformRoleSchema>;
export const spaceRoleSchema = z.enum(['owner', 'developer', 'auditor']);
export type SpaceRole = z.infer<typeof spaceRoleSchema>;
export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email({ message: 'must be an email address' }));

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/** Reserves an email address for one user (the aggregate id is the SHA-256 of the address). */
export const UserEmailReserved = defineMessage(
  'UserEmailReserved',
  z.object({ email: emailSchema, userId: idSchema }),
);

/** A user; the password only as a memory-hard hash (`scrypt$…`). */
export const UserRegistered = defineMessage(
  'UserRegistered',
  z.object({
    userId: idSchema,
    email: emailSchema,
    displayName: z.string().min(1).max(100),
    passwordHash: z.string().startsWith('scrypt$'),
    platformRole: platformRoleSchema,
    personalSpace: dnsLabelSchema,
  }),
);

export const UserPasswordChanged = defineMessage(
  'UserPasswordChanged',
  z.object({ userId: idSchema, passwordHash: z.string().startsWith('scrypt$') }),
);

/** A login session; only the SHA-256 of its current refresh secret is kept. */
export const SessionStarted = defineMessage(
  'SessionStarted',
  z.object({ sessionId: idSchema, userId: idSchema, refreshSha256: sha256Hex, expiresAt: isoDateTime }),
);
/** The refresh secret was rotated: the previous one is spent. */
export const SessionRefreshed = defineMessage(
  'SessionRefreshed',
  z.object({ sessionId: idSchema, refreshSha256: sha256Hex, expiresAt: isoDateTime }),
);
export const SessionEnded = defineMessage(
  'SessionEnded',
  z.object({ sessionId: idSchema, reason: z.enum(['logout', 'refresh-reuse', 'user-removed']) }),
);

/** A personal API token; `spaces` null means every space of its user. */
export const ApiTokenCreated = defineMessage(
  'ApiTokenCreated',
  z.object({
    tokenId: idSchema,
    userId: idSchema,
    name: z.string().min(1).max(100),
    secretSha256: sha256Hex,
    expiresAt: isoDateTime.nullable(),
    spaces: z.array(dnsLabelSchema).nullable(),
  }),
);
export const ApiTokenRevoked = defineMessage('ApiTokenRevoked', z.object({ tokenId: idSchema }));

export const quotaSchema = z
  .object({
    maxApps: z.number().int().min(0).max(100_000).nullable(),
    maxInstances: z.number().int().min(0).max(1_000_000).nullable(),
    maxCpuMillicores: z.number().int().min(0).max(100_000_000).nullable(),
    maxMemoryMiB: z.number().int().min(0).max(1_000_000_000).nullable(),
  })
  .strict();
export type Quota = z.infer<typeof quotaSchema>;
export const unlimitedQuota: Quota = {
  maxApps: null,
  maxInstances: null,
  maxCpuMillicores: null,
  maxMemoryMiB: null,
};

export const SpaceCreated = defineMessage(
  'SpaceCreated',
  z.object({
    space: dnsLabelSchema,
    kind: z.enum(['personal', 'organization']),
    displayName: z.string().min(1).max(100),
    ownerId: idSchema,
  }),
);
export const SpaceUpdated = defineMessage(
  'SpaceUpdated',
  z.object({ space: dnsLabelSchema, displayName: z.string().min(1).max(100) }),
);
export const SpaceMemberSet = defineMessage(
  'SpaceMemberSet',
  z.object({ space: dnsLabelSchema, userId: idSchema, role: spaceRoleSchema }),
);
export const SpaceMemberRemoved = defineMessage(
  'SpaceMemberRemoved',
  z.object({ space: dnsLabelSchema, userId: idSchema }),
);
export const SpaceQuotaSet = defineMessage(
  'SpaceQuotaSet',
  z.object({ space: dnsLabelSchema, quota: quotaSchema }),
);
/**
 * Deletion of a space began: it is gone for its members at once, its secrets are deleted and its apps
 * stop; `SpaceDeleted` follows once nothing is left. `cascade` says the caller asked for that.
 */
export const SpaceDeletionRequested = defineMessage(
  'SpaceDeletionRequested',
  z.object({ space: dnsLabelSchema, cascade: z.boolean() }),
);
/** The space is gone; its name is free again, and a space created under it shares nothing with this one. */
export const SpaceDeleted = defineMessage('SpaceDeleted', z.object({ space: dnsLabelSchema }));

/**
 * A secret's value, encrypted (AES-256-GCM envelope `v1.<keyId>.<iv>.<ciphertext>.<tag>`); `metadata` is
 * what may be shown (kind, key names, registry server and user, certificate subject and expiry).
 */
export const SecretStored = defineMessage(
  'SecretStored',
  z.object({
    space: dnsLabelSchema,
    name: dnsLabelSchema,
    kind: z.enum(['generic', 'registry', 'tls']),
    ciphertext: z.string().startsWith('v1.'),
    metadata: z.record(z.string(), z.unknown()),
  }),
);
export const SecretDeleted = defineMessage(
  'SecretDeleted',
  z.object({ space: dnsLabelSchema, name: dnsLabelSchema }),
);

/**
 * A mutating API request the caller was authorized for, recorded before anything acts on it: if this
 * record cannot be stored the request is refused, so no change happens without one. Its outcome follows
 * as an `AuditRecorded` with the same `requestId`.
 */
export const AuditRequestAccepted = defineMessage(
  'AuditRequestAccepted',
  z.object({
    requestId: idSchema,
    action: z.string().min(1).max(100),
    method: z.string().max(10),
    path: z.string().max(2000),
    space: dnsLabelSchema.nullable(),
    target: z.record(z.string(), z.string()),
    ip: z.string().max(100).nullable(),
  }),
);

/**
 * One mutating API request and how it ended; actor and correlation id are in the metadata. `requestId`
 * names the `AuditRequestAccepted` it completes (absent for requests refused before being accepted, and
 * in records written before intents existed).
 */
export const AuditRecorded = defineMessage(
  'AuditRecorded',
  z.object({
    action: z.string().min(1).max(100),
    method: z.string().max(10),
    path: z.string().max(2000),
    space: dnsLabelSchema.nullable(),
    target: z.record(z.string(), z.string()),
    status: z.number().int(),
    outcome: z.enum(['succeeded', 'denied', 'failed']),
    errorCode: z.string().max(100).nullable(),
    ip: z.string().max(100).nullable(),
    requestId: idSchema.optional(),
  }),
);

export type UserEmailReserved = MessageOf<typeof UserEmailReserved>;
export type UserRegistered = MessageOf<typeof UserRegistered>;
export type UserPasswordChanged = MessageOf<typeof UserPasswordChanged>;
export type SessionStarted = MessageOf<typeof SessionStarted>;
export type SessionRefreshed = MessageOf<typeof SessionRefreshed>;
export type SessionEnded = MessageOf<typeof SessionEnded>;
export type ApiTokenCreated = MessageOf<typeof ApiTokenCreated>;
export type ApiTokenRevoked = MessageOf<typeof ApiTokenRevoked>;
export type SpaceCreated = MessageOf<typeof SpaceCreated>;
export type SpaceUpdated = MessageOf<typeof SpaceUpdated>;
export type SpaceMemberSet = MessageOf<typeof SpaceMemberSet>;
export type SpaceMemberRemoved = MessageOf<typeof SpaceMemberRemoved>;
export type SpaceQuotaSet = MessageOf<typeof SpaceQuotaSet>;
export type SpaceDeletionRequested = MessageOf<typeof SpaceDeletionRequested>;
export type SpaceDeleted = MessageOf<typeof SpaceDeleted>;
export type SecretStored = MessageOf<typeof SecretStored>;
export type SecretDeleted = MessageOf<typeof SecretDeleted>;
export type AuditRequestAccepted = MessageOf<typeof AuditRequestAccepted>;
export type AuditRecorded = MessageOf<typeof AuditRecorded>;

export type UserEvent = UserRegistered | UserPasswordChanged;
export type SessionEvent = SessionStarted | SessionRefreshed | SessionEnded;
export type ApiTokenEvent = ApiTokenCreated | ApiTokenRevoked;
export type SpaceEvent =
  | SpaceCreated
  | SpaceUpdated
  | SpaceMemberSet
  | SpaceMemberRemoved
  | SpaceQuotaSet
  | SpaceDeletionRequested
  | SpaceDeleted;
export type SecretEvent = SecretStored | SecretDeleted;
export type AuthEvent =
  | UserEmailReserved
  | UserEvent
  | SessionEvent
  | ApiTokenEvent
  | SpaceEvent
  | SecretEvent
  | AuditRequestAccepted
  | AuditRecorded;

export const authEventDefinitions = [
  UserEmailReserved,
  UserRegistered,
  UserPasswordChanged,
  SessionStarted,
  SessionRefreshed,
  SessionEnded,
  ApiTokenCreated,
  ApiTokenRevoked,
  SpaceCreated,
  SpaceUpdated,
  SpaceMemberSet,
  SpaceMemberRemoved,
  SpaceQuotaSet,
  SpaceDeletionRequested,
  SpaceDeleted,
  SecretStored,
  SecretDeleted,
  AuditRequestAccepted,
  AuditRecorded,
];
