import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { type NatsConnection } from '@nats-io/transport-node';
import { type PierEvent, pierEvents, subjectsFor } from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { connectNats, RpcClient } from '@pier/messaging';
import { METRICS_REGISTRY, OpsController, READINESS_CHECKS, type ReadinessCheck } from '@pier/nest';
import { createMetricsRegistry, type Logger } from '@pier/observability';
import { type GatewayConfig } from './config';
import { AUTHORIZER, RPC_CLIENT } from './interface/http/caller';
import { ClustersController } from './interface/http/clusters.controller';
import { ErrorFilter, GATEWAY_LOGGER } from './interface/http/error.filter';
import { NodesController } from './interface/http/nodes.controller';
import { OPENAPI_DOCUMENT, OpenApiController } from './interface/http/openapi.controller';
import { AccessGuard } from './interface/http/access.guard';
import { AppsController } from './interface/http/apps.controller';
import { AuditController } from './interface/http/audit.controller';
import { AuditRecorder } from './interface/http/audit.recorder';
import { AuthController } from './interface/http/auth.controller';
import { assertPublicRoutes } from './interface/http/public-routes';
import { SecretsController } from './interface/http/secrets.controller';
import { SpacesController } from './interface/http/spaces.controller';
import { TokensController } from './interface/http/tokens.controller';
import { UsersController } from './interface/http/users.controller';
import { buildOpenApi, collectRoutes } from './interface/http/openapi';
import { Authorizer } from './infrastructure/authorizer';

const NATS = Symbol('Nats');

/** Every controller of the public API; the OpenAPI document covers exactly these. */
export const API_CONTROLLERS = [
  OpenApiController,
  AuthController,
  TokensController,
  UsersController,
  SpacesController,
  SecretsController,
  AuditController,
  AppsController,
  ClustersController,
  NodesController,
];
export const AUDIT_RECORDER = Symbol('AuditRecorder');

@Injectable()
class GatewayLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(NATS) private readonly nats: NatsConnection,
    @Inject(AUTHORIZER) private readonly authorizer: Authorizer,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    this.authorizer.stop();
    await this.nats.drain().catch(() => undefined);
  }
}

/** The public REST API: validates, authenticates (with the tenancy work) and forwards to services. */
@Module({})
export class GatewayModule {
  static forRoot(config: GatewayConfig, logger: Logger): DynamicModule {
    const registry = createMetricsRegistry('gateway');
    const routes = collectRoutes(API_CONTROLLERS);
    assertPublicRoutes(routes);
    return {
      module: GatewayModule,
      controllers: [OpsController, ...API_CONTROLLERS],
      providers: [
        { provide: GATEWAY_LOGGER, useValue: logger },
        { provide: APP_FILTER, useClass: ErrorFilter },
        { provide: APP_GUARD, useClass: AccessGuard },
        { provide: NATS, useFactory: () => connectNats({ url: config.PIER_NATS_URL, name: 'pier-gateway' }) },
        {
          provide: RPC_CLIENT,
          inject: [NATS],
          useFactory: (nc: NatsConnection) =>
            new RpcClient(nc, subjectsFor(config.PIER_PREFIX), config.PIER_RPC_TIMEOUT_MS),
        },
        {
          provide: AUTHORIZER,
          inject: [NATS, RPC_CLIENT],
          useFactory: async (nc: NatsConnection, rpc: RpcClient) => {
            const authorizer = new Authorizer(
              nc,
              subjectsFor(config.PIER_PREFIX),
              rpc,
              {
                ttlMs: config.PIER_API_AUTHORIZATION_CACHE_TTL_MS,
                maxEntries: config.PIER_API_AUTHORIZATION_CACHE_ENTRIES,
              },
              registry,
            );
            await authorizer.start();
            return authorizer;
          },
        },
        { provide: OPENAPI_DOCUMENT, useFactory: () => buildOpenApi(routes, { version: '1.0.0' }) },
        {
          provide: AUDIT_RECORDER,
          inject: [NATS],
          useFactory: async (nc: NatsConnection) =>
            new AuditRecorder(
              await EventStore.open<PierEvent>(nc, subjectsFor(config.PIER_PREFIX), pierEvents),
              routes,
              logger,
            ),
        },
        { provide: METRICS_REGISTRY, useValue: registry },
        {
          provide: READINESS_CHECKS,
          inject: [NATS],
          useFactory: (nc: NatsConnection): ReadinessCheck[] => [
            { name: 'nats', check: async () => void (await nc.flush()) },
          ],
        },
        GatewayLifecycle,
      ],
    };
  }
}
