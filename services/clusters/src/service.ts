import { moduleService } from '@pier/nest';
import { rebuildReadModel } from '@pier/persistence';
import { ClustersModule } from './clusters.module';
import { clustersConfigSchema } from './config';
import { clustersProjection } from './infrastructure/postgres/clusters.projection';
import { clustersEntities } from './infrastructure/postgres/entities';
import { clustersMigrations } from './infrastructure/postgres/migrations';

/** Clusters, join tokens and nodes: who may join, who is there, and whether it is alive. */
export const clustersService = moduleService({
  name: 'clusters',
  configSchema: clustersConfigSchema,
  module: (config, logger) => ClustersModule.forRoot(config, logger),
  port: (config) => config.PIER_CLUSTERS_PORT,
  rebuildProjections: (config, logger) =>
    rebuildReadModel(
      'clusters',
      config,
      {
        entities: clustersEntities,
        migrations: clustersMigrations,
        projections: (subjects) => [clustersProjection(subjects)],
      },
      logger,
    ),
});
