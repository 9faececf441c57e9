import { ProjectionCheckpoints1764000000000 } from '@pier/persistence';
import { RuntimeReadModel1764000000300 } from './1764000000300-runtime-read-model';
import { AppStickySessions1764000000301 } from './1764000000301-app-sticky-sessions';
import { InstanceLastProbe1764000000302 } from './1764000000302-instance-last-probe';
import { SplitRuntimeProjection1764000000303 } from './1764000000303-split-runtime-projection';

/** Every migration of the scheduler schema, oldest first. */
export const schedulerMigrations = [
  ProjectionCheckpoints1764000000000,
  RuntimeReadModel1764000000300,
  AppStickySessions1764000000301,
  InstanceLastProbe1764000000302,
  SplitRuntimeProjection1764000000303,
];
