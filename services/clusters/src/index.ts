export { ClustersModule, CLUSTERS_PROJECTION } from './clusters.module';
export { clustersConfigSchema, type ClustersConfig } from './config';
export { clustersService } from './service';
