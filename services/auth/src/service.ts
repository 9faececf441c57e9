import { moduleService } from '@pier/nest';
import { rebuildReadModel } from '@pier/persistence';
import { AuthModule } from './auth.module';
import { authConfigSchema } from './config';
import { auditProjection } from './infrastructure/postgres/audit-log.projection';
import { authMigrations } from './infrastructure/postgres/migrations';
import { tenancyProjection } from './infrastructure/postgres/tenancy.projection';

/** Users, sessions, tokens, spaces and members, secrets, the audit log: the tenancy of the platform. */
export const authService = moduleService({
  name: 'auth',
  configSchema: authConfigSchema,
  module: (config, logger) => AuthModule.forRoot(config, logger),
  port: (config) => config.PIER_AUTH_PORT,
  // login_attempts is not rebuilt: it is throttling state written by logins, not a projection.
  rebuildProjections: (config, logger) =>
    rebuildReadModel(
      'auth',
      config,
      {
        entities: [],
        migrations: authMigrations,
        projections: (subjects) => [tenancyProjection(subjects), auditProjection(subjects)],
      },
      logger,
    ),
});
