import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createFastifyApp, METRICS_REGISTRY } from '@pier/nest';
import { type Logger, type Registry } from '@pier/observability';
import { admissionConfig, auditRateLimits, type GatewayConfig } from './config';
import { API_CONTROLLERS, AUDIT_RECORDER, GatewayModule } from './gateway.module';
import { installAdmission } from './interface/http/admission.hook';
import { type AuditRecorder } from './interface/http/audit.recorder';
import { errorReply } from './interface/http/error.filter';
import { installInputScreen } from './interface/http/input-screen.hook';
import { collectRoutes } from './interface/http/openapi';
import { installRequestContext } from './interface/http/request-context';

/** Builds the gateway application (not yet listening): used by `main` and by tests. */
export async function createGatewayApp(
  config: GatewayConfig,
  logger: Logger,
  options: { shutdownHooks?: boolean } = {},
): Promise<NestFastifyApplication> {
  const app = await createFastifyApp(GatewayModule.forRoot(config, logger), {
    ...options,
    logger,
    bodyLimit: config.PIER_API_BODY_LIMIT_BYTES,
    // What Fastify and Node answer before a route runs comes out in the API's error format too.
    errorReply,
  });
  const fastify = app.getHttpAdapter().getInstance();
  const metrics = app.get<Registry>(METRICS_REGISTRY);
  const audit = app.get<AuditRecorder>(AUDIT_RECORDER).limitedBy(auditRateLimits(config), metrics);
  installRequestContext(fastify, metrics, audit);
  // After the request context (a refusal carries its request id), before authentication and anything else.
  installAdmission(fastify, admissionConfig(config), metrics);
  installInputScreen(fastify, collectRoutes(API_CONTROLLERS));
  app.setGlobalPrefix('api/v1', { exclude: ['healthz', 'readyz', 'metrics'] });
  return app;
}
