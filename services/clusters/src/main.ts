import 'reflect-metadata';
import { loadConfigOrExit } from '@pier/config';
import { pierEvents, subjectsFor, type PierEvent } from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { connectNats } from '@pier/messaging';
import { createFastifyApp, listen } from '@pier/nest';
import { createLogger, initTelemetry, type Logger } from '@pier/observability';
import { createServiceDataSource, openDataSource, ProjectionRunner } from '@pier/persistence';
import { ClustersModule } from './clusters.module';
import { type ClustersConfig, clustersConfigSchema } from './config';
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
    await rebuild(config, logger);
    await telemetry.shutdown();
    process.exit(0);
  }

  const app = await createFastifyApp(ClustersModule.forRoot(config, logger), { logger });
  const port = await listen(app, config.PIER_CLUSTERS_PORT);
  logger.info({ port }, 'clusters ops endpoints listening');
}

/** `rebuild-projections`: empties the read model and replays the event stream into it. */
async function rebuild(config: ClustersConfig, logger: Logger): Promise<void> {
  const nc = await connectNats({ url: config.PIER_NATS_URL, name: 'pier-clusters-rebuild' });
  const store = await EventStore.open<PierEvent>(nc, subjectsFor(config.PIER_PREFIX), pierEvents);
  const db = await openDataSource(
    createServiceDataSource({
      url: config.PIER_DATABASE_URL,
      schema: config.PIER_DATABASE_SCHEMA ?? 'clusters',
      entities: clustersEntities,
      migrations: clustersMigrations,
      applicationName: 'pier-clusters-rebuild',
    }),
  );
  const runner = new ProjectionRunner(store, db, clustersProjection(store.subjects), logger);
  await runner.rebuild();
  await runner.waitUntilCaughtUp(600_000);
  await runner.stop();
  logger.info({ position: await runner.position() }, 'clusters read model rebuilt');
  await nc.drain();
  await db.destroy();
}

main().catch((error: unknown) => {
  process.stderr.write(
    `pier-clusters: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
