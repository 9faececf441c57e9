import { listen, type PierService } from '@pier/nest';
import { createGatewayApp } from './app';
import { gatewayConfigSchema } from './config';

/** The public REST API. */
export const gatewayService: PierService<typeof gatewayConfigSchema> = {
  name: 'gateway',
  configSchema: gatewayConfigSchema,
  async start(config, logger, host) {
    const app = await createGatewayApp(config, logger, { shutdownHooks: host.ownsProcess });
    const port = await listen(app, config.PIER_API_PORT, config.PIER_API_HOST);
    logger.info({ url: `http://${config.PIER_API_HOST}:${port}/api/v1` }, 'gateway listening');
    return { app, port };
  },
};
