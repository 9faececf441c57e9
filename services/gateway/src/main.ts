import 'reflect-metadata';
import { loadConfigOrExit } from '@pier/config';
import { listen } from '@pier/nest';
import { createLogger, initTelemetry } from '@pier/observability';
import { createGatewayApp } from './app';
import { gatewayConfigSchema } from './config';

async function main(): Promise<void> {
  const config = loadConfigOrExit(gatewayConfigSchema, 'pier-gateway');
  initTelemetry({ serviceName: 'pier-gateway', otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  const logger = createLogger('gateway', config.PIER_LOG_LEVEL);
  const app = await createGatewayApp(config, logger);
  const port = await listen(app, config.PIER_API_PORT, config.PIER_API_HOST);
  logger.info({ url: `http://${config.PIER_API_HOST}:${port}/api/v1` }, 'gateway listening');
}

main().catch((error: unknown) => {
  process.stderr.write(
    `pier-gateway: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
