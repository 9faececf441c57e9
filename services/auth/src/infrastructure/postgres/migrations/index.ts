import { ProjectionCheckpoints1764000000000 } from '@pier/persistence';
import { TenancyReadModel1764000000200 } from './1764000000200-tenancy-read-model';

/** Every migration of the auth schema, oldest first. */
export const authMigrations = [ProjectionCheckpoints1764000000000, TenancyReadModel1764000000200];
