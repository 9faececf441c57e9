import { createFastifyApp, listen, type PierService } from '@pier/nest';
import { rebuildProjections } from '@pier/persistence';
import { AuthModule } from './auth.module';
import { authConfigSchema } from './config';
import { auditProjection } from './infrastructure/postgres/audit-log.projection';
import { authMigrations } from './infrastructure/postgres/migrations';
import { tenancyProjection } from './infrastructure/postgres/tenancy.projection';

/** Users, sessions, tokens, spaces and members, secrets, the audit log: the tenancy of the platform. */
export const authService: PierService<typeof authConfigSchema> = {
  name: 'auth',
  configSchema: authConfigSchema,
  async start(config, logger, host) {
    const app = await createFastifyApp(AuthModule.forRoot(config, logger), {
      logger,
      shutdownHooks: host.ownsProcess,
    });
    const port = await listen(app, config.PIER_AUTH_PORT);
    logger.info({ port }, 'auth ops endpoints listening');
    return { app, port };
  },
  rebuildProjections: (config, logger) =>
    // login_attempts is not rebuilt: it is throttling state written by logins, not a projection.
    rebuildProjections({
      service: 'auth',
      natsUrl: config.PIER_NATS_URL,
      prefix: config.PIER_PREFIX,
      streamReplicas: config.PIER_STREAM_REPLICAS,
      database: {
        url: config.PIER_DATABASE_URL,
        schema: config.PIER_DATABASE_SCHEMA ?? 'auth',
        entities: [],
        migrations: authMigrations,
      },
      projections: (subjects) => [tenancyProjection(subjects), auditProjection(subjects)],
      logger,
    }),
};
