import { commonEnv, databaseEnv, envInt, envPort, eventStoreEnv } from '@pier/config';
import { z } from 'zod';

/** A limit: a whole number up to `max`, or `unlimited`. */
const limit = (fallback: number | null, max: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return fallback;
      if (value === 'unlimited') return null;
      if (/^[0-9]{1,12}$/.test(value) && Number(value) <= max) return Number(value);
      ctx.addIssue({ code: 'custom', message: `must be a whole number up to ${max}, or "unlimited"` });
      return z.NEVER;
    });

const secretText = (name: string, min: number) =>
  z.string({ message: `${name} is required` }).min(min, `must be at least ${min} characters`);

export const authConfigSchema = z
  .object({
    ...commonEnv,
    ...databaseEnv,
    ...eventStoreEnv,
    /** Port of the ops endpoints (/healthz, /readyz, /metrics). */
    PIER_AUTH_PORT: envPort(4102),
    /** Key that signs access tokens (HMAC-SHA256); at least 32 characters of randomness. */
    PIER_JWT_SECRET: secretText('PIER_JWT_SECRET', 32),
    /** 32-byte key encrypting secrets at rest (base64, base64url or hex). */
    PIER_SECRETS_KEY: secretText('PIER_SECRETS_KEY', 32),
    /** Keys used before a rotation, comma-separated, still accepted for decryption. */
    PIER_SECRETS_PREVIOUS_KEYS: z.string().default(''),
    /** Shared secret of platform services allowed to read secret values. */
    PIER_INTERNAL_TOKEN: secretText('PIER_INTERNAL_TOKEN', 32),
    PIER_ACCESS_TOKEN_TTL_S: envInt(900, 30, 24 * 3600),
    /** Sliding lifetime of a login session: it ends unless refreshed within this long. */
    PIER_REFRESH_TOKEN_TTL_S: envInt(7 * 24 * 3600, 300, 365 * 24 * 3600),
    /** Absolute lifetime of a login session, however often it is refreshed. */
    PIER_SESSION_MAX_LIFETIME_S: envInt(30 * 24 * 3600, 1, 365 * 24 * 3600),
    /** Longest lifetime of a personal API token; a token asked for without an expiry gets exactly this. */
    PIER_API_TOKEN_MAX_LIFETIME_S: envInt(90 * 24 * 3600, 3600, 5 * 365 * 24 * 3600),
    /** Failed logins of one account from one address before each further one is delayed. */
    PIER_LOGIN_FREE_FAILURES: envInt(5, 1, 1000),
    /** First delay after the free failures, doubling with each further failure of the pair… */
    PIER_LOGIN_DELAY_BASE_S: envInt(1, 1, 3600),
    /** …up to this. */
    PIER_LOGIN_DELAY_MAX_S: envInt(900, 1, 24 * 3600),
    /** A pair's failures are forgotten after this long without a new one. */
    PIER_LOGIN_PAIR_MEMORY_S: envInt(24 * 3600, 60, 30 * 24 * 3600),
    /** Failed logins from one address, over every account, allowed per window. */
    PIER_LOGIN_ADDRESS_MAX_FAILURES: envInt(100, 1, 1_000_000),
    PIER_LOGIN_ADDRESS_WINDOW_S: envInt(900, 1, 24 * 3600),
    /** The quota every new space starts with; admins change it per space. */
    PIER_DEFAULT_MAX_APPS: limit(100, 100_000),
    PIER_DEFAULT_MAX_INSTANCES: limit(500, 1_000_000),
    PIER_DEFAULT_MAX_CPU_MILLICORES: limit(128_000, 100_000_000),
    PIER_DEFAULT_MAX_MEMORY_MIB: limit(262_144, 1_000_000_000),
    /** Organisation spaces one user may own (platform admins: no limit). */
    PIER_MAX_OWNED_SPACES: limit(20, 100_000),
    /** How often every replica carries on the deletions of spaces being deleted. */
    PIER_SPACE_DELETION_INTERVAL_MS: envInt(1000, 100, 60_000),
    /** The first platform admin, created at start when missing. */
    PIER_ADMIN_EMAIL: z.email().optional(),
    PIER_ADMIN_PASSWORD: z.string().min(1).optional(),
  })
  .refine((c) => !!c.PIER_ADMIN_EMAIL === !!c.PIER_ADMIN_PASSWORD, {
    path: ['PIER_ADMIN_PASSWORD'],
    message: 'PIER_ADMIN_EMAIL and PIER_ADMIN_PASSWORD go together',
  });

export type AuthConfig = z.output<typeof authConfigSchema>;
