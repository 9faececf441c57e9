import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type NatsConnection } from '@nats-io/transport-node';
import { CLUSTER, CLUSTER_NAME, NODE, type PierEvent, pierEvents, subjectsFor } from '@pier/contracts';
import { EventSourcedRepository, EventStore } from '@pier/eventstore';
import { connectNats, RpcServer } from '@pier/messaging';
import { METRICS_REGISTRY, OpsController, READINESS_CHECKS, type ReadinessCheck } from '@pier/nest';
import { createMetricsRegistry, Gauge, type Logger, type Registry } from '@pier/observability';
import { createServiceDataSource, openDataSource, ProjectionRunner } from '@pier/persistence';
import { type DataSource } from 'typeorm';
import { CreateClusterHandler } from './application/create-cluster/create-cluster.handler';
import { JOIN_SETTINGS, JoinNodeHandler } from './application/join-node/join-node.handler';
import { JoinTokensHandler } from './application/join-tokens/join-tokens.handler';
import { NodeAdminHandler } from './application/node-admin/node-admin.handler';
import {
  CLUSTERS_LOGGER,
  LIVENESS_SETTINGS,
  NodeLivenessMonitor,
} from './application/node-liveness/node-liveness.monitor';
import {
  CLUSTER_NAME_REPOSITORY,
  CLUSTER_REPOSITORY,
  CLUSTERS_READ_MODEL,
  HEARTBEAT_FEED,
  NODE_EVENT_FEED,
  NODE_REPOSITORY,
} from './application/ports';
import { ClustersQueries } from './application/queries/clusters.queries';
import { type ClustersConfig } from './config';
import { evolveCluster } from './domain/cluster/cluster.state';
import { evolveNode } from './domain/node/node.state';
import { NatsHeartbeatFeed } from './infrastructure/nats/heartbeat.feed';
import { JetStreamNodeEventFeed } from './infrastructure/nats/node-event.feed';
import { clustersProjection } from './infrastructure/postgres/clusters.projection';
import { PostgresClustersReadModel } from './infrastructure/postgres/clusters.read-model';
import { clustersEntities } from './infrastructure/postgres/entities';
import { clustersMigrations } from './infrastructure/postgres/migrations';
import { registerClustersEndpoints } from './interface/nats/clusters.rpc-endpoints';

const CONFIG = Symbol('ClustersConfig');
const NATS = Symbol('Nats');
const EVENT_STORE = Symbol('EventStore');
const DATA_SOURCE = Symbol('DataSource');
const PROJECTION = Symbol('ClustersProjection');

/** Starts the moving parts once everything is wired, and stops them in reverse order. */
@Injectable()
class ClustersLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private rpc?: RpcServer;

  constructor(
    @Inject(CONFIG) private readonly config: ClustersConfig,
    @Inject(CLUSTERS_LOGGER) private readonly logger: Logger,
    @Inject(NATS) private readonly nats: NatsConnection,
    @Inject(DATA_SOURCE) private readonly db: DataSource,
    @Inject(PROJECTION) private readonly projection: ProjectionRunner<PierEvent>,
    @Inject(METRICS_REGISTRY) private readonly metrics: Registry,
    private readonly monitor: NodeLivenessMonitor,
    readonly createCluster: CreateClusterHandler,
    readonly joinTokens: JoinTokensHandler,
    readonly joinNode: JoinNodeHandler,
    readonly nodeAdmin: NodeAdminHandler,
    readonly queries: ClustersQueries,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.projection.start();
    await this.monitor.start();
    this.rpc = new RpcServer(
      this.nats,
      subjectsFor(this.config.PIER_PREFIX),
      'clusters',
      this.logger,
      this.metrics,
    );
    const monitor = this.monitor;
    new Gauge({
      name: 'pier_nodes',
      help: 'Nodes known to the liveness monitor, by liveness',
      labelNames: ['liveness'],
      registers: [this.metrics],
      collect() {
        for (const [liveness, count] of Object.entries(monitor.countByLiveness()))
          this.set({ liveness }, count);
      },
    });
    registerClustersEndpoints(this.rpc, this);
    this.logger.info({ prefix: this.config.PIER_PREFIX }, 'clusters service started');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.rpc?.close();
    await this.monitor.stop();
    await this.projection.stop();
    await this.nats.drain().catch(() => undefined);
    await this.db.destroy().catch(() => undefined);
  }
}

/** The clusters service: clusters, join tokens, nodes and their liveness. */
@Module({})
export class ClustersModule {
  static forRoot(config: ClustersConfig, logger: Logger): DynamicModule {
    const registry = createMetricsRegistry('clusters');
    return {
      module: ClustersModule,
      controllers: [OpsController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: CLUSTERS_LOGGER, useValue: logger },
        {
          provide: NATS,
          useFactory: () => connectNats({ url: config.PIER_NATS_URL, name: 'pier-clusters' }),
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
          provide: DATA_SOURCE,
          useFactory: () =>
            openDataSource(
              createServiceDataSource({
                url: config.PIER_DATABASE_URL,
                schema: config.PIER_DATABASE_SCHEMA ?? 'clusters',
                entities: clustersEntities,
                migrations: clustersMigrations,
                applicationName: 'pier-clusters',
              }),
            ),
        },
        {
          provide: PROJECTION,
          inject: [EVENT_STORE, DATA_SOURCE],
          useFactory: (store: EventStore<PierEvent>, db: DataSource) =>
            new ProjectionRunner(store, db, clustersProjection(store.subjects), logger, {
              metrics: registry,
            }),
        },
        {
          provide: CLUSTER_REPOSITORY,
          inject: [EVENT_STORE],
          useFactory: (store: EventStore<PierEvent>) =>
            // A cluster's history grows with every join (each spends a token use): keep the folded state.
            new EventSourcedRepository(store, CLUSTER, evolveCluster, { cacheSize: 1000 }),
        },
        {
          provide: NODE_REPOSITORY,
          inject: [EVENT_STORE],
          useFactory: (store: EventStore<PierEvent>) => new EventSourcedRepository(store, NODE, evolveNode),
        },
        {
          provide: CLUSTER_NAME_REPOSITORY,
          inject: [EVENT_STORE],
          useFactory: (store: EventStore<PierEvent>) =>
            new EventSourcedRepository<string, Extract<PierEvent, { type: 'ClusterNameReserved' }>>(
              store,
              CLUSTER_NAME,
              (_state, event) => event.data.clusterId,
            ),
        },
        {
          provide: CLUSTERS_READ_MODEL,
          inject: [DATA_SOURCE],
          useFactory: (db: DataSource) => new PostgresClustersReadModel(db),
        },
        {
          provide: NODE_EVENT_FEED,
          inject: [EVENT_STORE],
          useFactory: (store: EventStore<PierEvent>) => new JetStreamNodeEventFeed(store, logger),
        },
        {
          provide: HEARTBEAT_FEED,
          inject: [NATS],
          useFactory: (nc: NatsConnection) =>
            new NatsHeartbeatFeed(nc, subjectsFor(config.PIER_PREFIX), logger),
        },
        {
          provide: LIVENESS_SETTINGS,
          useValue: {
            lostAfterMs: config.PIER_NODE_LOST_AFTER_MS,
            checkIntervalMs: config.PIER_NODE_LIVENESS_CHECK_MS,
          },
        },
        { provide: JOIN_SETTINGS, useValue: { heartbeatIntervalMs: config.PIER_NODE_HEARTBEAT_MS } },
        { provide: METRICS_REGISTRY, useValue: registry },
        {
          provide: READINESS_CHECKS,
          inject: [NATS, DATA_SOURCE],
          useFactory: (nc: NatsConnection, db: DataSource): ReadinessCheck[] => [
            { name: 'nats', check: async () => void (await nc.flush()) },
            { name: 'postgres', check: async () => void (await db.query('SELECT 1')) },
          ],
        },
        NodeLivenessMonitor,
        CreateClusterHandler,
        JoinTokensHandler,
        JoinNodeHandler,
        NodeAdminHandler,
        ClustersQueries,
        ClustersLifecycle,
      ],
      exports: [PROJECTION],
    };
  }
}

export { PROJECTION as CLUSTERS_PROJECTION };
