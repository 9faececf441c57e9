import { moduleService } from '@pier/nest';
import { routerConfigSchema } from './config';
import { RouterModule } from './router.module';

/** Drives the edge (HAProxy) from the routes, instances and domains of the event stream. */
export const routerService = moduleService({
  name: 'router',
  configSchema: routerConfigSchema,
  module: (config, logger) => RouterModule.forRoot(config, logger),
  port: (config) => config.PIER_ROUTER_PORT,
  listening: (config) => ({
    http: `${config.PIER_ROUTER_BIND}:${config.PIER_ROUTER_HTTP_PORT}`,
    metrics: `${config.PIER_ROUTER_METRICS_BIND}:${config.PIER_ROUTER_METRICS_PORT}`,
    baseDomain: config.PIER_BASE_DOMAIN,
  }),
});
