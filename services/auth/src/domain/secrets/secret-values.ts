import { z } from 'zod';
import { type TlsSummary, validateTlsBundle } from './tls-bundle';

const KIB = 1024;
const DAY_MS = 86_400_000;

/** Limits of a `generic` secret; sizes are UTF-8 bytes, the total counts key names too. */
export const GENERIC_SECRET_LIMITS = {
  minKeys: 1,
  maxKeys: 100,
  maxValueBytes: 64 * KIB,
  /** The total must stay under this: the whole value travels in one event. */
  maxTotalBytes: 256 * KIB,
} as const;

/** Key names usable as environment variables and file names alike. */
export const GENERIC_SECRET_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
/** `host[:port]` as Docker writes registry servers: DNS name, IPv4 or bracketed IPv6, never a scheme or path. */
const REGISTRY_SERVER = new RegExp(
  `^(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[0-9A-Fa-f:.]+\\])(?::(\\d{1,5}))?$`,
);

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

const genericKey = z
  .string()
  .regex(
    GENERIC_SECRET_KEY_PATTERN,
    'must start with a letter or _, then letters, digits, _ . or -, 128 at most',
  );

const hasOwnProtoKey = (input: unknown): boolean =>
  typeof input === 'object' && input !== null && Object.hasOwn(input, '__proto__');

const genericRecord = z
  .record(
    genericKey,
    z
      .string()
      .refine((value) => utf8Bytes(value) <= GENERIC_SECRET_LIMITS.maxValueBytes, 'must be at most 64 KiB'),
  )
  .superRefine((data, ctx) => {
    const keys = Object.keys(data);
    if (keys.length < GENERIC_SECRET_LIMITS.minKeys || keys.length > GENERIC_SECRET_LIMITS.maxKeys) {
      ctx.addIssue({ code: 'custom', message: 'must have 1 to 100 keys' });
    }
    const total = keys.reduce((sum, key) => sum + utf8Bytes(key) + utf8Bytes(data[key]!), 0);
    if (total >= GENERIC_SECRET_LIMITS.maxTotalBytes) {
      ctx.addIssue({ code: 'custom', message: 'keys and values together must stay under 256 KiB' });
    }
  });

/**
 * JSON.parse makes `__proto__` an own key, which zod's record silently drops (copying it would change the
 * prototype): refused, so that no key of a stored secret goes missing unnoticed.
 */
const genericData = z
  .unknown()
  .refine((input) => !hasOwnProtoKey(input), '"__proto__" cannot be a key name')
  .pipe(genericRecord);

const registryServer = z
  .string()
  // A 253-character DNS name and `:65535`.
  .max(259)
  .refine((server) => {
    const match = REGISTRY_SERVER.exec(server);
    return !!match && (match[1] === undefined || (Number(match[1]) >= 1 && Number(match[1]) <= 65535));
  }, 'must be host[:port] without a scheme or path, e.g. registry.example.com or 127.0.0.1:5000');

/** Key/value pairs, e.g. environment variables of an app. */
export const genericSecretSchema = z.strictObject({ kind: z.literal('generic'), data: genericData });

/** Credentials of a container registry, as `docker login` takes them. */
export const registrySecretSchema = z.strictObject({
  kind: z.literal('registry'),
  server: registryServer,
  // Registries authenticate with HTTP Basic, where a colon ends the user name.
  username: z
    .string()
    .min(1)
    .max(256)
    .refine((name) => !name.includes(':'), 'must not contain ":"'),
  password: z.string().min(1).max(4096),
});

/** A TLS certificate chain (leaf first) and its private key, both PEM; content is checked by `describeSecret`. */
export const tlsSecretSchema = z.strictObject({
  kind: z.literal('tls'),
  certificate: z
    .string()
    .min(1)
    .max(64 * KIB),
  privateKey: z
    .string()
    .min(1)
    .max(16 * KIB),
});

/** A secret value as stored (encrypted) and revealed; `kind` selects the shape. */
export const secretValueSchema = z.discriminatedUnion('kind', [
  genericSecretSchema,
  registrySecretSchema,
  tlsSecretSchema,
]);
export type SecretValue = z.infer<typeof secretValueSchema>;
export type SecretKind = SecretValue['kind'];

/** Shown for a generic secret: key names only, sorted. */
export type GenericSecretMetadata = { readonly kind: 'generic'; readonly keys: string[] };
/** Shown for registry credentials: where and as whom, never the password. */
export type RegistrySecretMetadata = {
  readonly kind: 'registry';
  readonly server: string;
  readonly username: string;
};
/** Shown for a TLS secret: the leaf certificate, and its expiry as of when it was described. */
export type TlsSecretMetadata = TlsSummary & {
  readonly kind: 'tls';
  readonly expired: boolean;
  /** Whole days left until `notAfter`, rounded down. */
  readonly expiresInDays: number;
};
/** What may be shown about a secret once stored; never contains a secret value. */
export type SecretMetadata = GenericSecretMetadata | RegistrySecretMetadata | TlsSecretMetadata;

/**
 * Describes a validated secret value for display.
 * @param now ISO time the expiry of a TLS certificate is measured from.
 * @throws TlsBundleError when a TLS certificate and key are unusable at `now`, expired included: a
 *   description that returns has `expired: false`, recorded so the metadata says so explicitly.
 */
export function describeSecret(value: SecretValue, now: string): SecretMetadata {
  switch (value.kind) {
    case 'generic':
      return { kind: 'generic', keys: Object.keys(value.data).sort() };
    case 'registry':
      return { kind: 'registry', server: value.server, username: value.username };
    case 'tls': {
      const summary = validateTlsBundle(value.certificate, value.privateKey, now);
      const remaining = Date.parse(summary.notAfter) - Date.parse(now);
      return {
        kind: 'tls',
        ...summary,
        expired: remaining <= 0,
        expiresInDays: Math.floor(remaining / DAY_MS),
      };
    }
  }
}
