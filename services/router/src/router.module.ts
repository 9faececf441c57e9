import { randomUUID } from 'node:crypto';
import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type NatsConnection } from '@nats-io/transport-node';
import {
  type PierEvent,
  pierEvents,
  ROUTER_PRESENCE_INTERVAL_MS,
  type RouterPresence,
  type Subjects,
  subjectsFor,
} from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { connectNats, RpcServer } from '@pier/messaging';
import { METRICS_REGISTRY, OpsController, READINESS_CHECKS, type ReadinessCheck } from '@pier/nest';
import { createMetricsRegistry, Gauge, type Logger, type Registry } from '@pier/observability';
import { DrainInstanceHandler } from './application/drain-instance/drain-instance.handler';
import { DATA_PLANE, type DataPlane, ROUTER_LOGGER, RUNTIME_EVENT_FEED } from './application/ports';
import { RouteSynchronizer } from './application/sync-routes/route-synchronizer';
import { type RouterConfig } from './config';
import { inRotation, panics } from './domain/route-table';
import { HaproxyDriver } from './infrastructure/haproxy/haproxy.driver';
import { JetStreamRuntimeEventFeed } from './infrastructure/nats/runtime-event.feed';
import { registerRouterEndpoints } from './interface/nats/router.rpc-endpoints';

const CONFIG = Symbol('RouterConfig');
const NATS = Symbol('Nats');
const EVENT_STORE = Symbol('EventStore');

/**
 * Rebuilds the route table and starts the data plane before taking requests; stops in reverse order.
 */
@Injectable()
class RouterLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private rpc?: RpcServer;
  private readonly id = `router-${randomUUID()}`;
  private presence?: NodeJS.Timeout;
  private readonly subjects: Subjects;

  constructor(
    @Inject(CONFIG) private readonly config: RouterConfig,
    @Inject(ROUTER_LOGGER) private readonly logger: Logger,
    @Inject(NATS) private readonly nats: NatsConnection,
    @Inject(METRICS_REGISTRY) private readonly metrics: Registry,
    private readonly routes: RouteSynchronizer,
    readonly drainInstance: DrainInstanceHandler,
  ) {
    this.subjects = subjectsFor(config.PIER_PREFIX);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.routes.start();
    // Every replica must drain: a queue group of its own, so each one gets every request.
    this.rpc = new RpcServer(this.nats, this.subjects, this.id, this.logger, this.metrics);
    registerRouterEndpoints(this.rpc, this);
    // The agents learn that a router runs: one that goes silent without saying it stopped was killed, and
    // they hold their stops until it is back (see `RouterPresence`).
    this.announce('alive');
    this.presence = setInterval(() => this.announce('alive'), ROUTER_PRESENCE_INTERVAL_MS);
    this.presence.unref();
    const routes = this.routes;
    new Gauge({
      name: 'pier_router_apps',
      help: 'Apps in the route table',
      registers: [this.metrics],
      collect() {
        this.set(routes.current().apps.size);
      },
    });
    new Gauge({
      name: 'pier_router_instances_in_rotation',
      help: 'Instances that get new requests',
      registers: [this.metrics],
      collect() {
        this.set([...routes.current().instances.values()].filter(inRotation).length);
      },
    });
    new Gauge({
      name: 'pier_router_panic',
      help:
        'Versions in panic: no instance passes readiness, so the router keeps sending to the running ' +
        'instances that had been ready (the value is how many); absent when not in panic',
      labelNames: ['space', 'app', 'version'],
      registers: [this.metrics],
      collect() {
        this.reset();
        for (const p of panics(routes.current())) {
          this.set({ space: p.space, app: p.app, version: String(p.version) }, p.instances);
        }
      },
    });
    this.logger.info({ prefix: this.config.PIER_PREFIX }, 'router started');
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.presence);
    await this.rpc?.close();
    await this.routes.stop();
    // HAProxy stopped with it: nothing of this router sends requests any more.
    this.announce('stopped');
    await this.nats.drain().catch(() => undefined);
  }

  private announce(state: RouterPresence['state']): void {
    const message: RouterPresence = { router: this.id, state };
    try {
      this.nats.publish(this.subjects.routerPresence, JSON.stringify(message));
    } catch (error) {
      this.logger.warn({ err: error }, 'could not announce the router');
    }
  }
}

/** The router: follows the runtime events and drives HAProxy, which carries the apps' HTTP traffic. */
@Module({})
export class RouterModule {
  static forRoot(config: RouterConfig, logger: Logger): DynamicModule {
    const registry = createMetricsRegistry('router');
    return {
      module: RouterModule,
      controllers: [OpsController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: ROUTER_LOGGER, useValue: logger },
        {
          provide: NATS,
          useFactory: () => connectNats({ url: config.PIER_NATS_URL, name: 'pier-router' }),
        },
        {
          provide: EVENT_STORE,
          inject: [NATS],
          useFactory: (nc: NatsConnection) =>
            EventStore.open(nc, subjectsFor(config.PIER_PREFIX), pierEvents, {
              replicas: config.PIER_STREAM_REPLICAS,
            }),
        },
        {
          provide: RUNTIME_EVENT_FEED,
          inject: [EVENT_STORE],
          useFactory: (store: EventStore<PierEvent>) => new JetStreamRuntimeEventFeed(store, logger),
        },
        {
          provide: DATA_PLANE,
          useFactory: () =>
            new HaproxyDriver(
              {
                binary: config.PIER_ROUTER_HAPROXY_BIN,
                stateDir: config.PIER_ROUTER_STATE_DIR,
                bind: config.PIER_ROUTER_BIND,
                httpPort: config.PIER_ROUTER_HTTP_PORT,
                metricsBind: config.PIER_ROUTER_METRICS_BIND,
                metricsPort: config.PIER_ROUTER_METRICS_PORT,
                stopGraceMs: config.PIER_ROUTER_STOP_GRACE_MS,
                trustedProxies: config.PIER_ROUTER_TRUSTED_PROXIES,
                serverMaxconn: config.PIER_ROUTER_SERVER_MAXCONN,
                queueTimeoutMs: config.PIER_ROUTER_QUEUE_TIMEOUT_MS,
                hardStopAfterSeconds: config.PIER_ROUTER_HARD_STOP_AFTER_S,
                threads: config.PIER_ROUTER_HAPROXY_THREADS,
              },
              logger,
              registry,
            ),
        },
        { provide: METRICS_REGISTRY, useValue: registry },
        {
          provide: READINESS_CHECKS,
          inject: [NATS, DATA_PLANE, RouteSynchronizer],
          useFactory: (
            nc: NatsConnection,
            dataPlane: DataPlane,
            routes: RouteSynchronizer,
          ): ReadinessCheck[] => [
            { name: 'nats', check: async () => void (await nc.flush()) },
            { name: 'haproxy', check: () => dataPlane.check() },
            {
              name: 'routes',
              check: async () => {
                if (!routes.isLive()) throw new Error('route table not rebuilt yet');
              },
            },
          ],
        },
        RouteSynchronizer,
        DrainInstanceHandler,
        RouterLifecycle,
      ],
      exports: [DATA_PLANE, RouteSynchronizer],
    };
  }
}

export { DATA_PLANE as ROUTER_DATA_PLANE };
