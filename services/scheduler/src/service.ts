import { createFastifyApp, listen, type PierService } from '@pier/nest';
import { rebuildProjections } from '@pier/persistence';
import { schedulerConfigSchema } from './config';
import { schedulerMigrations } from './infrastructure/postgres/migrations';
import { appsProjection, instancesProjection } from './infrastructure/postgres/runtime.projection';
import { SchedulerModule } from './scheduler.module';

/** Apps, versions, traffic and domains, and the planner that places their instances on nodes. */
export const schedulerService: PierService<typeof schedulerConfigSchema> = {
  name: 'scheduler',
  configSchema: schedulerConfigSchema,
  async start(config, logger, host) {
    const app = await createFastifyApp(SchedulerModule.forRoot(config, logger), {
      logger,
      shutdownHooks: host.ownsProcess,
    });
    const port = await listen(app, config.PIER_SCHEDULER_PORT);
    logger.info({ port }, 'scheduler ops endpoints listening');
    return { app, port };
  },
  rebuildProjections: (config, logger) =>
    rebuildProjections({
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
    }),
};
