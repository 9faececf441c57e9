import 'reflect-metadata';
import { loadConfigOrExit } from '@pier/config';
import { createFastifyApp, listen } from '@pier/nest';
import { createLogger, initTelemetry } from '@pier/observability';
import { routerConfigSchema } from './config';
import { RouterModule } from './router.module';

async function main(): Promise<void> {
  const config = loadConfigOrExit(routerConfigSchema, 'pier-router');
  initTelemetry({ serviceName: 'pier-router', otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  const logger = createLogger('router', config.PIER_LOG_LEVEL);
  const app = await createFastifyApp(RouterModule.forRoot(config, logger), { logger });
  const port = await listen(app, config.PIER_ROUTER_PORT);
  logger.info(
    {
      port,
      http: `${config.PIER_ROUTER_BIND}:${config.PIER_ROUTER_HTTP_PORT}`,
      metrics: `${config.PIER_ROUTER_METRICS_BIND}:${config.PIER_ROUTER_METRICS_PORT}`,
      baseDomain: config.PIER_BASE_DOMAIN,
    },
    'router ops endpoints listening',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `pier-router: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
