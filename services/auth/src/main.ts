import 'reflect-metadata';
import { loadConfigOrExit } from '@pier/config';
import { createFastifyApp, listen } from '@pier/nest';
import { createLogger, initTelemetry } from '@pier/observability';
import { rebuildProjections } from '@pier/persistence';
import { AuthModule } from './auth.module';
import { authConfigSchema } from './config';
import { auditProjection } from './infrastructure/postgres/audit-log.projection';
import { authMigrations } from './infrastructure/postgres/migrations';
import { tenancyProjection } from './infrastructure/postgres/tenancy.projection';

async function main(): Promise<void> {
  const config = loadConfigOrExit(authConfigSchema, 'pier-auth');
  const telemetry = initTelemetry({
    serviceName: 'pier-auth',
    otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  });
  const logger = createLogger('auth', config.PIER_LOG_LEVEL);

  if (process.argv[2] === 'rebuild-projections') {
    // login_attempts is not rebuilt: it is throttling state written by logins, not a projection.
    await rebuildProjections({
      service: 'auth',
      natsUrl: config.PIER_NATS_URL,
      prefix: config.PIER_PREFIX,
      streamReplicas: config.PIER_STREAM_REPLICAS,
      database: {
        url: config.PIER_DATABASE_URL,
        schema: config.PIER_DATABASE_SCHEMA ?? 'auth',
        entities: [],
        migrations: authMigrations,
      },
      projections: (subjects) => [tenancyProjection(subjects), auditProjection(subjects)],
      logger,
    });
    await telemetry.shutdown();
    process.exit(0);
  }

  const app = await createFastifyApp(AuthModule.forRoot(config, logger), { logger });
  const port = await listen(app, config.PIER_AUTH_PORT);
  logger.info({ port }, 'auth ops endpoints listening');
}

main().catch((error: unknown) => {
  process.stderr.write(
    `pier-auth: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
