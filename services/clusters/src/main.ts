import 'reflect-metadata';
import { loadConfigOrExit } from '@pier/config';
import { createFastifyApp, listen } from '@pier/nest';
import { createLogger, initTelemetry } from '@pier/observability';
import { rebuildProjections } from '@pier/persistence';
import { ClustersModule } from './clusters.module';
import { clustersConfigSchema } from './config';
import { clustersProjection } from './infrastructure/postgres/clusters.projection';
import { clustersEntities } from './infrastructure/postgres/entities';
import { clustersMigrations } from './infrastructure/postgres/migrations';

async function main(): Promise<void> {
  const config = loadConfigOrExit(clustersConfigSchema, 'pier-clusters');
  const telemetry = initTelemetry({
    serviceName: 'pier-clusters',
    otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  });
  const logger = createLogger('clusters', config.PIER_LOG_LEVEL);

  if (process.argv[2] === 'rebuild-projections') {
    await rebuildProjections({
      service: 'clusters',
      natsUrl: config.PIER_NATS_URL,
      prefix: config.PIER_PREFIX,
      streamReplicas: config.PIER_STREAM_REPLICAS,
      database: {
        url: config.PIER_DATABASE_URL,
        schema: config.PIER_DATABASE_SCHEMA ?? 'clusters',
        entities: clustersEntities,
        migrations: clustersMigrations,
      },
      projections: (subjects) => [clustersProjection(subjects)],
      logger,
    });
    await telemetry.shutdown();
    process.exit(0);
  }

  const app = await createFastifyApp(ClustersModule.forRoot(config, logger), { logger });
  const port = await listen(app, config.PIER_CLUSTERS_PORT);
  logger.info({ port }, 'clusters ops endpoints listening');
}

main().catch((error: unknown) => {
  process.stderr.write(
    `pier-clusters: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
