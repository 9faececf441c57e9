import 'reflect-metadata';
import { loadConfigOrExit } from '@pier/config';
import { createFastifyApp, listen } from '@pier/nest';
import { createLogger, initTelemetry } from '@pier/observability';
import { AuthModule } from './auth.module';
import { authConfigSchema } from './config';

async function main(): Promise<void> {
  const config = loadConfigOrExit(authConfigSchema, 'pier-auth');
  initTelemetry({ serviceName: 'pier-auth', otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  const logger = createLogger('auth', config.PIER_LOG_LEVEL);
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
