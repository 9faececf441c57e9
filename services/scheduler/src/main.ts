import 'reflect-metadata';
import { loadConfigOrExit } from '@pier/config';
import { createFastifyApp, listen } from '@pier/nest';
import { createLogger, initTelemetry } from '@pier/observability';
import { schedulerConfigSchema } from './config';
import { SchedulerModule } from './scheduler.module';

async function main(): Promise<void> {
  const config = loadConfigOrExit(schedulerConfigSchema, 'pier-scheduler');
  initTelemetry({ serviceName: 'pier-scheduler', otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  const logger = createLogger('scheduler', config.PIER_LOG_LEVEL);
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
