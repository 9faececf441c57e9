import { z } from 'zod';
import { dnsLabelSchema } from './primitives';

/**
 * A Docker image reference: `[registry[:port]/]path[:tag][@sha256:digest]`, lowercase path components,
 * at most 255 characters (Docker's own grammar, without the rarely used uppercase in registry hosts).
 */
export const imageReferenceSchema = z
  .string()
  .max(255)
  .regex(
    /^(?:(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:]+\])(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/,
    'must be an image reference like registry:5000/team/app:1.2',
  );

export const envNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'environment variable names are [A-Za-z_][A-Za-z0-9_]*');

const seconds = (fallback: number, min: number, max: number) =>
  z.number().int().min(min).max(max).default(fallback);

const probeTiming = {
  initialDelaySeconds: seconds(0, 0, 3600),
  periodSeconds: seconds(10, 1, 3600),
  timeoutSeconds: seconds(1, 1, 3600),
  successThreshold: seconds(1, 1, 100),
  failureThreshold: seconds(3, 1, 100),
};
const port = z.number().int().min(1).max(65535);
const headerName = z.string().regex(/^[A-Za-z0-9-]{1,100}$/);

/** What a probe checks: an HTTP GET answered with a status in [200, 400), a TCP connect, or a command exiting 0. */
export const probeActionSchema = z.union([
  z
    .object({
      http: z
        .object({
          path: z.string().startsWith('/').max(2000),
          port,
          headers: z.record(headerName, z.string().max(1000)).optional(),
        })
        .strict(),
    })
    .strict(),
  z.object({ tcp: z.object({ port }).strict() }).strict(),
  z.object({ exec: z.object({ command: z.array(z.string().max(4096)).min(1).max(100) }).strict() }).strict(),
]);

/** A probe with Kubernetes' timing and defaults (initial delay 0 s, period 10 s, timeout 1 s, success 1, failure 3). */
export const probeSchema = z.intersection(probeActionSchema, z.object(probeTiming));
export type Probe = z.output<typeof probeSchema>;

export const constraintSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}(==|!=)(?:[A-Za-z0-9._-]{0,63}|\((?:[A-Za-z0-9._-]{1,63})(?: [A-Za-z0-9._-]{1,63})*\))$/,
    'constraints look like key==value, key!=value or key==(a b c)',
  );

/** Everything that defines how one version of an app runs. Immutable once created. */
export const versionSpecSchema = z
  .object({
    label: z.string().min(1).max(50).optional(),
    image: imageReferenceSchema,
    command: z.array(z.string().max(4096)).max(100).optional(),
    args: z.array(z.string().max(4096)).max(100).optional(),
    env: z.record(envNameSchema, z.string().max(32 * 1024)).default({}),
    secretEnv: z
      .record(envNameSchema, z.object({ secret: dnsLabelSchema, key: z.string().min(1).max(128) }).strict())
      .default({}),
    ports: z
      .array(
        z.object({ containerPort: port, protocol: z.enum(['http', 'tcp', 'udp']).default('http') }).strict(),
      )
      .max(10)
      .default([])
      .refine(
        (ps) => new Set(ps.map((p) => `${p.containerPort}/${p.protocol}`)).size === ps.length,
        'ports must be unique',
      ),
    resources: z
      .object({
        cpu: z.number().int().min(1).max(256_000).default(250),
        memory: z.number().int().min(4).max(1_048_576).default(256),
      })
      .strict()
      .default({ cpu: 250, memory: 256 }),
    probes: z
      .object({
        startup: probeSchema.optional(),
        readiness: probeSchema.optional(),
        liveness: probeSchema.optional(),
      })
      .strict()
      .default({}),
    stop: z
      .object({
        preStop: probeActionSchema.optional(),
        gracePeriodSeconds: seconds(30, 0, 3600),
      })
      .strict()
      .default({ gracePeriodSeconds: 30 }),
    placement: z
      .object({ constraints: z.array(constraintSchema).max(20).default([]) })
      .strict()
      .default({ constraints: [] }),
    registrySecret: dnsLabelSchema.optional(),
    /** Security options; anything beyond the defaults passes the platform's policy gate first. */
    security: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type VersionSpec = z.output<typeof versionSpecSchema>;
export type VersionSpecInput = z.input<typeof versionSpecSchema>;

/** Traffic weights per version number: up to two decimals, summing to 100. */
export const weightsSchema = z
  .record(z.string().regex(/^[1-9][0-9]{0,5}$/, 'keys are version numbers'), z.number().min(0).max(100))
  .refine((w) => Object.keys(w).length > 0, 'at least one version')
  .refine(
    (w) =>
      Object.values(w).every(
        (v) => Math.round(v * 100) === v * 100 || Math.abs(Math.round(v * 100) - v * 100) < 1e-6,
      ),
    'weights have at most two decimals',
  )
  .refine(
    (w) => Math.round(Object.values(w).reduce((a, b) => a + b, 0) * 100) === 10_000,
    'weights must sum to 100',
  );
export type Weights = z.infer<typeof weightsSchema>;

export const hostnameSchema = z
  .string()
  .max(253)
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/,
    'must be a lowercase host name like app.example.com',
  );
