import { type DynamicModule, type INestApplication } from '@nestjs/common';
import { ConfigError, loadConfig } from '@pier/config';
import { createLogger, initTelemetry, type Logger } from '@pier/observability';
import { type z } from 'zod';
import { createFastifyApp, listen } from './bootstrap';

/**
 * One control-plane service, as every entry point starts it: alone in its own process (`serviceMain`,
 * the scale-out layout) or together with others in one process (`startServices`, the single-machine
 * default). Either way it talks to the others over NATS only; nothing is shared in memory.
 */
export interface PierService<S extends z.ZodType = z.ZodType> {
  /** Short name: `auth`, `gateway`… (the logger's and the database schema's default name). */
  readonly name: string;
  readonly configSchema: S;
  /** Builds the service and listens on its port; resolves once it accepts requests. */
  start(config: z.output<S>, logger: Logger, host: ServiceHost): Promise<RunningService>;
  /** `main.js rebuild-projections`: rebuilds its read model from the event stream, then returns. */
  rebuildProjections?(config: z.output<S>, logger: Logger): Promise<void>;
}

/** What the process a service runs in expects of it. */
export interface ServiceHost {
  /**
   * Whether the service alone owns the process, and so stops it on SIGTERM itself (Nest's shutdown
   * hooks); in a shared process the host closes every service, in reverse order, and then exits.
   */
  readonly ownsProcess: boolean;
}

export interface RunningService {
  readonly app: INestApplication;
  readonly port: number;
}

/**
 * A service that is its Nest module on Fastify, listening on `port(config)` (its ops endpoints): builds
 * `start` for it; `listening` adds what its start log line says beyond the port.
 */
export function moduleService<S extends z.ZodType>(spec: {
  readonly name: string;
  readonly configSchema: S;
  readonly module: (config: z.output<S>, logger: Logger) => DynamicModule;
  readonly port: (config: z.output<S>) => number;
  readonly listening?: (config: z.output<S>) => Record<string, unknown>;
  readonly rebuildProjections?: PierService<S>['rebuildProjections'];
}): PierService<S> {
  return {
    name: spec.name,
    configSchema: spec.configSchema,
    async start(config, logger, host) {
      const app = await createFastifyApp(spec.module(config, logger), {
        logger,
        shutdownHooks: host.ownsProcess,
      });
      const port = await listen(app, spec.port(config));
      logger.info({ port, ...spec.listening?.(config) }, `${spec.name} ops endpoints listening`);
      return { app, port };
    },
    ...(spec.rebuildProjections ? { rebuildProjections: spec.rebuildProjections } : {}),
  };
}

/** The minimal config every service schema has (`commonEnv`). */
interface CommonConfig {
  readonly PIER_LOG_LEVEL?: string;
  readonly OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
}

/** The process entry point of one service on its own: `node services/<name>/dist/main.js [rebuild-projections]`. */
export function serviceMain<S extends z.ZodType>(service: PierService<S>): void {
  const program = `pier-${service.name}`;
  const run = async () => {
    const config = loadOrExit(program, () => loadConfig(service.configSchema)) as z.output<S> & CommonConfig;
    const telemetry = initTelemetry({
      serviceName: program,
      otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    });
    const logger = createLogger(service.name, config.PIER_LOG_LEVEL);
    if (process.argv[2] === 'rebuild-projections') {
      if (!service.rebuildProjections) throw new Error(`${program} keeps no read model to rebuild`);
      await service.rebuildProjections(config, logger);
      await telemetry.shutdown();
      process.exit(0);
    }
    await service.start(config, logger, { ownsProcess: true });
  };
  run().catch((error: unknown) => exitWith(program, error));
}

/**
 * Environment of one service in a shared process: the process's, where `PIER_<NAME>_DATABASE_SCHEMA`
 * (e.g. `PIER_AUTH_DATABASE_SCHEMA`) names the service's own Postgres schema. A process-wide
 * `PIER_DATABASE_SCHEMA` would put every service's tables and migrations in one schema: refused.
 */
export function serviceEnv(
  name: string,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  if (env.PIER_DATABASE_SCHEMA !== undefined) {
    throw new ConfigError([
      `PIER_DATABASE_SCHEMA: services sharing a process need a schema each: set PIER_${name.toUpperCase()}_DATABASE_SCHEMA instead`,
    ]);
  }
  const { [`PIER_${name.toUpperCase()}_DATABASE_SCHEMA`]: schema, ...rest } = env;
  return schema === undefined ? rest : { ...rest, PIER_DATABASE_SCHEMA: schema };
}

/**
 * Several services in this process, each with its own Nest application, port, logger and NATS
 * connection, as if apart. Every configuration is validated before any service starts; they start in
 * the order given (a service's dependencies first) and stop in reverse order on SIGTERM or SIGINT.
 */
export async function startServices(
  program: string,
  services: readonly PierService[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<void> {
  const configs = loadOrExit(program, () => {
    const problems: string[] = [];
    const loaded = services.map((service) => {
      try {
        return loadConfig(service.configSchema, serviceEnv(service.name, env)) as CommonConfig;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems.push(...error.problems.map((p) => `${service.name}: ${p}`));
        return undefined;
      }
    });
    if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
    return loaded as CommonConfig[];
  });
  initTelemetry({ serviceName: program, otlpEndpoint: configs[0]?.OTEL_EXPORTER_OTLP_ENDPOINT });
  const running: RunningService[] = [];
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const { app } of [...running].reverse()) await app.close().catch(() => undefined);
    process.kill(process.pid, signal);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, (s) => void stop(s));
  try {
    for (const [i, service] of services.entries()) {
      const config = configs[i]!;
      const logger = createLogger(service.name, config.PIER_LOG_LEVEL);
      running.push(await service.start(config, logger, { ownsProcess: false }));
    }
  } catch (error) {
    exitWith(program, error);
  }
}

function loadOrExit<T>(program: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${program}: ${error.message}\n`);
    process.exit(2);
  }
}

function exitWith(program: string, error: unknown): never {
  process.stderr.write(
    `${program}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
}
