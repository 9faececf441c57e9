import 'reflect-metadata';
import { loadConfigOrExit } from '@pier/config';
import { createFastifyApp, listen } from '@pier/nest';
import { createLogger, initTelemetry } from '@pier/observability';
import { rebuildProjections } from '@pier/persistence';
import { schedulerConfigSchema } from './config';
import { schedulerMigrations } from './infrastructure/postgres/migrations';
import { appsProjection, instancesProjection } from './infrastructure/postgres/runtime.projection';
import { SchedulerModule } from './scheduler.module';

async function main(): Promise<void> {
  const config = loadConfigOrExit(schedulerConfigSchema, 'pier-scheduler');
  const telemetry = initTelemetry({
    serviceName: 'pier-scheduler',
    otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  });
  const logger = createLogger('scheduler', config.PIER_LOG_LEVEL);

  if (process.argv[2] === 'rebuild-projections') {
    await rebuildProjections({
      service: 'scheduler',
      natsUrl: config.PIER_NATS_URL,
      prefix: config.PIER_PREFIX,
      streamReplicas: config.PIER_STREAM_REPLICAS,
      database: {
        url: config.PIER_DATABASE_URL,
        schema: config.PIER_DATABASE_SCHEMA ?? 'scheduler',
        entities: [],
        migrations: schedulerMigrations,
      },
      projections: (subjects) => [appsProjection(subjects), instancesProjection(subjects)],
      logger,
    });
    await telemetry.shutdown();
    process.exit(0);
  }

  const app = await createFastifyApp(SchedulerModule.forRoot(config, logger), { logger });
  const port = await listen(app, config.PIER_SCHEDULER_PORT);
  logger.info({ port }, 'scheduler ops endpoints listening');
}

main().catch((error: unknown) => {
  process.stderr.write(
    `pier-scheduler: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
