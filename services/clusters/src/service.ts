import { createFastifyApp, listen, type PierService } from '@pier/nest';
import { rebuildProjections } from '@pier/persistence';
import { ClustersModule } from './clusters.module';
import { clustersConfigSchema } from './config';
import { clustersProjection } from './infrastructure/postgres/clusters.projection';
import { clustersEntities } from './infrastructure/postgres/entities';
import { clustersMigrations } from './infrastructure/postgres/migrations';

/** Clusters, join tokens and nodes: who may join, who is there, and whether it is alive. */
export const clustersService: PierService<typeof clustersConfigSchema> = {
  name: 'clusters',
  configSchema: clustersConfigSchema,
  async start(config, logger, host) {
    const app = await createFastifyApp(ClustersModule.forRoot(config, logger), {
      logger,
      shutdownHooks: host.ownsProcess,
    });
    const port = await listen(app, config.PIER_CLUSTERS_PORT);
    logger.info({ port }, 'clusters ops endpoints listening');
    return { app, port };
  },
  rebuildProjections: (config, logger) =>
    rebuildProjections({
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
    }),
};
