import { z } from 'zod';

/** Raised at start when the environment does not satisfy a service's schema; lists every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates the environment against a service's schema, once, at start. This is the only place in Pier
 * that reads `process.env`; everything else receives the parsed, typed result.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Readonly<Record<string, string | undefined>> = process.env,
): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
  );
}

/** Environment booleans: `true/false`, `1/0`, `yes/no`. */
export const envBoolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A TCP port; 0 lets the OS choose. */
export const envPort = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const envInt = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Settings every service shares: where NATS is, the namespace, telemetry and logging. */
export const commonEnv = {
  PIER_NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  /** Namespace of every stream, subject and consumer; lets installations and tests share one NATS. */
  PIER_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only')
    .default('pier'),
  PIER_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_SERVICE_NAME: z.string().optional(),
};

/** Settings of services that keep a read model in Postgres. */
export const databaseEnv = {
  PIER_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .default('postgres://postgres@127.0.0.1:5432/pier'),
  /** Postgres schema of the service; each service owns its own. */
  PIER_DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lowercase identifier')
    .optional(),
};

/** Settings of the event store streams. */
export const eventStoreEnv = {
  PIER_STREAM_REPLICAS: envInt(1, 1, 5),
};

/** Hides credentials in a URL so a config summary can be logged. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '***';
  }
}

/**
 * `loadConfig` for a process entry point: on bad configuration, prints every problem and exits with
 * status 2 instead of throwing.
 */
export function loadConfigOrExit<S extends z.ZodType>(schema: S, program: string): z.output<S> {
  try {
    return loadConfig(schema);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${program}: ${error.message}\n`);
    process.exit(2);
  }
}
