export { RouterModule, ROUTER_DATA_PLANE } from './router.module';
export { routerConfigSchema, type RouterConfig } from './config';
export { routerService } from './service';
