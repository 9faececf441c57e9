export { createGatewayApp } from './app';
export { gatewayConfigSchema, type GatewayConfig } from './config';
export { API_CONTROLLERS } from './gateway.module';
export { PUBLIC_OPERATIONS } from './interface/http/public-routes';
export { gatewayService } from './service';
