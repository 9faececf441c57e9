import { moduleService } from '@pier/nest';
import { rebuildReadModel } from '@pier/persistence';
import { schedulerConfigSchema } from './config';
import { schedulerMigrations } from './infrastructure/postgres/migrations';
import { appsProjection, instancesProjection } from './infrastructure/postgres/runtime.projection';
import { SchedulerModule } from './scheduler.module';

/** Apps, versions, traffic and domains, and the planner that places their instances on nodes. */
export const schedulerService = moduleService({
  name: 'scheduler',
  configSchema: schedulerConfigSchema,
  module: (config, logger) => SchedulerModule.forRoot(config, logger),
  port: (config) => config.PIER_SCHEDULER_PORT,
  rebuildProjections: (config, logger) =>
    rebuildReadModel(
      'scheduler',
      config,
      {
        entities: [],
        migrations: schedulerMigrations,
        projections: (subjects) => [appsProjection(subjects), instancesProjection(subjects)],
      },
      logger,
    ),
});
