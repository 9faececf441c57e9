import { createFastifyApp, listen, type PierService } from '@pier/nest';
import { routerConfigSchema } from './config';
import { RouterModule } from './router.module';

/** Drives the edge (HAProxy) from the routes, instances and domains of the event stream. */
export const routerService: PierService<typeof routerConfigSchema> = {
  name: 'router',
  configSchema: routerConfigSchema,
  async start(config, logger, host) {
    const app = await createFastifyApp(RouterModule.forRoot(config, logger), {
      logger,
      shutdownHooks: host.ownsProcess,
    });
    const port = await listen(app, config.PIER_ROUTER_PORT);
    logger.info(
      {
        port,
        http: `${config.PIER_ROUTER_BIND}:${config.PIER_ROUTER_HTTP_PORT}`,
        metrics: `${config.PIER_ROUTER_METRICS_BIND}:${config.PIER_ROUTER_METRICS_PORT}`,
        baseDomain: config.PIER_BASE_DOMAIN,
      },
      'router ops endpoints listening',
    );
    return { app, port };
  },
};
