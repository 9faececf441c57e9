import { ProjectionCheckpoints1764000000000 } from '@pier/persistence';
import { TenancyReadModel1764000000200 } from './1764000000200-tenancy-read-model';
import { LoginAttempts1764000000210 } from './1764000000210-login-attempts';
import { AuditRequestId1764000000211 } from './1764000000211-audit-request-id';
import { SpaceLifecycle1764000000220 } from './1764000000220-space-lifecycle';

/** Every migration of the auth schema, oldest first. */
export const authMigrations = [
  ProjectionCheckpoints1764000000000,
  TenancyReadModel1764000000200,
  LoginAttempts1764000000210,
  AuditRequestId1764000000211,
  SpaceLifecycle1764000000220,
];
