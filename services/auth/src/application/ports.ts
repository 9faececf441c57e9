import {
  type ApiTokenEvent,
  type Cause,
  type AuditEntry,
  type MemberView,
  type NodeAssignmentEvent,
  type PlatformRole,
  type Quota,
  type SecretEvent,
  type SecretView,
  type SessionEvent,
  type SpaceEvent,
  type SpaceRole,
  type SpaceView,
  type UserEmailReserved,
  type UserEvent,
  type UserView,
} from '@pier/contracts';
import { type AggregateRepository } from '@pier/eventstore';
import { type ApiTokenState } from '../domain/api-token/api-token.state';
import { type NodeSecretUse } from '../domain/secret/node-secret-use';
import { type SecretState } from '../domain/secret/secret.state';
import { type SessionState } from '../domain/session/session.state';
import { type SpaceState } from '../domain/space/space.state';
import { type UserState } from '../domain/user/user.state';

export type UserRepository = AggregateRepository<UserState, UserEvent>;
/** Email reservations: the state is the id of the user holding the address. */
export type EmailRepository = AggregateRepository<string, UserEmailReserved>;
export type SessionRepository = AggregateRepository<SessionState, SessionEvent>;
export type ApiTokenRepository = AggregateRepository<ApiTokenState, ApiTokenEvent>;
export type SpaceRepository = AggregateRepository<SpaceState, SpaceEvent>;
export type SecretRepository = AggregateRepository<SecretState, SecretEvent>;
/** Read-only: the secrets each node's assigned instances refer to, folded from its assignment subject. */
export type NodeSecretUseRepository = AggregateRepository<NodeSecretUse, NodeAssignmentEvent>;

export const USERS = Symbol('UserRepository');
export const EMAILS = Symbol('EmailRepository');
export const SESSIONS = Symbol('SessionRepository');
export const API_TOKENS = Symbol('ApiTokenRepository');
export const SPACES = Symbol('SpaceRepository');
export const SECRETS = Symbol('SecretRepository');
export const PASSWORD_HASHER = Symbol('PasswordHasher');
/** A `PasswordStrengthEstimator` (domain/user/password-policy.ts). */
export const PASSWORD_STRENGTH = Symbol('PasswordStrength');
export const ACCESS_TOKENS = Symbol('AccessTokens');
export const LOGIN_THROTTLE = Symbol('LoginThrottle');
export const READ_MODEL = Symbol('TenancyReadModel');
export const READ_MODEL_SYNC = Symbol('ReadModelSync');
export const NODE_AUTHENTICATOR = Symbol('NodeAuthenticator');
export const SECRET_CIPHER = Symbol('SecretCipher');
export const AUTH_SETTINGS = Symbol('AuthSettings');
export const AUTH_LOGGER = Symbol('AuthLogger');
export const SPACE_APPS = Symbol('SpaceApps');
export const NODE_SECRET_USE = Symbol('NodeSecretUse');
export const SPACE_SETTINGS = Symbol('SpaceSettings');
export const EXCLUSIVE = Symbol('Exclusive');

/** What spaces start with and how many a user may own. */
export interface SpaceSettings {
  /** The quota of every new space (all null: unlimited). */
  readonly defaultQuota: Quota;
  /** Organisation spaces one user may own; null: no limit. Platform admins have none. */
  readonly maxOwnedSpaces: number | null;
}

/** The apps of a space, as the scheduler holds them. */
export interface SpaceApps {
  /** Apps of the space, those being deleted included. */
  count(space: string): Promise<number>;
  /** Starts deleting every app of the space; answers how many it still has. */
  deleteAll(space: string, cause: Cause): Promise<number>;
}

/** Runs work one at a time per key, across every replica. */
export interface Exclusive {
  run<T>(key: string, work: () => Promise<T>): Promise<T>;
}

export interface AuthSettings {
  /** Sliding lifetime of a session: a refresh must come within this long of the previous one. */
  readonly refreshTokenTtlSeconds: number;
  /** Absolute lifetime of a session, however often it is refreshed. */
  readonly sessionMaxLifetimeSeconds: number;
  /** Longest lifetime of an API token; also the lifetime of one created without an expiry. */
  readonly apiTokenMaxLifetimeSeconds: number;
  /** Shared secret of platform services allowed to reveal secrets. */
  readonly internalToken: string;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
}

export interface AccessTokens {
  issue(subject: { userId: string; sessionId: string }, now: string): { token: string; expiresIn: number };
  /** Whose token it is, and when it expires (ISO); or why it is not valid. */
  verify(
    token: string,
    now: string,
  ): { userId: string; sessionId: string; expiresAt: string } | { problem: string };
}

/** Who is trying to log in, from where (the address is null when unknown). */
export interface LoginAttempt {
  readonly email: string;
  readonly address: string | null;
}

/** Failed logins per account-and-address pair and per address (`domain/session/login-throttle.policy`). */
export interface LoginThrottle {
  /**
   * Counts the attempt as a failure before its password is checked, atomically, so parallel guesses
   * all count. Answers 0 when the attempt may go ahead, else the seconds to wait (nothing counted).
   */
  reserve(attempt: LoginAttempt, now: string): Promise<number>;
  /** The reserved attempt succeeded: forgets the pair's failures and gives the address its failure back. */
  succeeded(attempt: LoginAttempt): Promise<void>;
}

/** Lets a command answer only once the read model reflects it (authorization reads the read model). */
export interface ReadModelSync {
  waitFor(position: number): Promise<void>;
}

export interface NodeAuthenticator {
  /** Whether the credential belongs to the node (asks the clusters service). */
  authenticate(nodeId: string, credential: string): Promise<boolean>;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

export interface SessionRecord {
  readonly id: string;
  readonly userId: string;
  readonly ended: boolean;
  readonly expiresAt: string;
}

export interface ApiTokenRecord {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly secretSha256: string;
  readonly spaces: string[] | null;
  readonly expiresAt: string | null;
  readonly revoked: boolean;
  readonly createdAt: string;
}

/** The Postgres read model of the tenancy context. */
export interface TenancyReadModel {
  user(userId: string): Promise<UserView | null>;
  listUsers(page: { limit: number; cursor?: string }): Promise<Page<UserView>>;
  session(sessionId: string): Promise<SessionRecord | null>;
  /** A session with its user (null when the user no longer exists), in one query: every request asks. */
  sessionWithUser(sessionId: string): Promise<{ session: SessionRecord; user: UserView | null } | null>;
  apiToken(tokenId: string): Promise<ApiTokenRecord | null>;
  apiTokens(userId: string): Promise<ApiTokenRecord[]>;
  space(name: string): Promise<SpaceView | null>;
  role(space: string, userId: string): Promise<SpaceRole | null>;
  /** Whether the space exists (not deleted, not being deleted) and the user's role there, in one query. */
  spaceAccess(space: string, userId: string): Promise<{ exists: boolean; role: SpaceRole | null }>;
  spacesOf(userId: string): Promise<string[]>;
  /** Spaces whose deletion has begun and not yet finished. */
  deletingSpaces(): Promise<string[]>;
  /** Organisation spaces the user owns. */
  ownedSpaceCount(userId: string): Promise<number>;
  listSpaces(query: {
    memberId: string | null;
    limit: number;
    cursor?: string;
  }): Promise<Page<SpaceView & { role: SpaceRole | null }>>;
  members(space: string): Promise<MemberView[]>;
  quota(space: string): Promise<Quota | null>;
  secrets(space: string): Promise<SecretView[]>;
  secret(space: string, name: string): Promise<SecretView | null>;
  audit(query: {
    space: string | null;
    actor?: string;
    action?: string;
    from?: string;
    to?: string;
    limit: number;
    cursor?: string;
  }): Promise<Page<AuditEntry>>;
}

export type { PlatformRole };
