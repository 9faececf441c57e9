import { ProjectionCheckpoints1764000000000 } from '@pier/persistence';
import { ClustersReadModel1764000000100 } from './1764000000100-clusters-read-model';

/** Every migration of the clusters schema, oldest first. */
export const clustersMigrations = [ProjectionCheckpoints1764000000000, ClustersReadModel1764000000100];
