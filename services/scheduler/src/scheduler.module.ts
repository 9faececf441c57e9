import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type NatsConnection } from '@nats-io/transport-node';
import { type PierEvent, pierEvents, type Subjects, subjectsFor } from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { connectNats, RpcClient, RpcServer } from '@pier/messaging';
import { METRICS_REGISTRY, OpsController, READINESS_CHECKS, type ReadinessCheck } from '@pier/nest';
import { createMetricsRegistry, Gauge, type Logger, type Registry } from '@pier/observability';
import {
  createServiceDataSource,
  openDataSource,
  type Projection,
  ProjectionRunner,
} from '@pier/persistence';
import { type DataSource } from 'typeorm';
import { AppsHandler, EVENT_STORE, READ_MODEL } from './application/apps.handler';
import {
  QUOTA_GATE,
  READ_MODEL_SYNC,
  SCHEDULER_LOGGER,
  SCHEDULER_SETTINGS,
  TENANCY,
} from './application/ports';
import { World } from './application/world';
import { type SchedulerConfig } from './config';
import { AuthTenancy } from './infrastructure/nats/auth.tenancy';
import { AdvisoryLockLeadership } from './infrastructure/postgres/advisory-lock.leadership';
import { schedulerMigrations } from './infrastructure/postgres/migrations';
import { appsProjection, instancesProjection } from './infrastructure/postgres/runtime.projection';
import { RuntimeReadModel } from './infrastructure/postgres/runtime.read-model';
import { SpaceLockQuotaGate } from './infrastructure/postgres/space-lock.quota-gate';
import { registerSchedulerEndpoints } from './interface/nats/scheduler.rpc-endpoints';
import { startSchedulerReplica } from './scheduler.replica';

const CONFIG = Symbol('SchedulerConfig');
const NATS = Symbol('Nats');
const DATA_SOURCE = Symbol('DataSource');
const APPS_PROJECTION = Symbol('AppsProjection');
const INSTANCES_PROJECTION = Symbol('InstancesProjection');

/** Starts the read model, the world, the reconcile loop and the RPC surface; stops them in reverse. */
@Injectable()
class SchedulerLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private rpc?: RpcServer;
  private replica?: { stop(): Promise<void> };

  constructor(
    @Inject(CONFIG) private readonly config: SchedulerConfig,
    @Inject(SCHEDULER_LOGGER) private readonly logger: Logger,
    @Inject(NATS) private readonly nats: NatsConnection,
    @Inject(DATA_SOURCE) private readonly db: DataSource,
    @Inject(EVENT_STORE) private readonly store: EventStore<PierEvent>,
    @Inject(APPS_PROJECTION) private readonly appsProjection: ProjectionRunner<PierEvent>,
    @Inject(INSTANCES_PROJECTION) private readonly instancesProjection: ProjectionRunner<PierEvent>,
    @Inject(READ_MODEL) private readonly readModel: RuntimeReadModel,
    @Inject(METRICS_REGISTRY) private readonly metrics: Registry,
    private readonly world: World,
    private readonly apps: AppsHandler,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.appsProjection.start();
    await this.instancesProjection.start();
    this.replica = await startSchedulerReplica({
      store: this.store,
      world: this.world,
      leadership: new AdvisoryLockLeadership(this.db, `pier-scheduler:${this.config.PIER_PREFIX}`),
      intervalMs: this.config.PIER_SCHEDULER_INTERVAL_MS,
      plan: { rebalance: this.config.PIER_SCHEDULER_REBALANCE },
      logger: this.logger,
    });
    const world = this.world;
    new Gauge({
      name: 'pier_instances',
      help: 'Instances known to the scheduler, by phase',
      labelNames: ['phase'],
      registers: [this.metrics],
      collect() {
        this.reset();
        for (const i of world.instances.values()) this.inc({ phase: i.phase });
      },
    });
    this.rpc = new RpcServer(
      this.nats,
      subjectsFor(this.config.PIER_PREFIX),
      'scheduler',
      this.logger,
      this.metrics,
    );
    registerSchedulerEndpoints(this.rpc, this.apps, this.readModel);
    this.logger.info({ prefix: this.config.PIER_PREFIX }, 'scheduler started');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.rpc?.close();
    await this.replica?.stop();
    await this.appsProjection.stop();
    await this.instancesProjection.stop();
    await this.nats.drain().catch(() => undefined);
    await this.db.destroy().catch(() => undefined);
  }
}

/** The scheduler: apps, versions, deployments and where their instances run. */
@Module({})
export class SchedulerModule {
  static forRoot(config: SchedulerConfig, logger: Logger): DynamicModule {
    const registry = createMetricsRegistry('scheduler');
    const runtimeRunner = (projection: (subjects: Subjects) => Projection<PierEvent>) => ({
      inject: [EVENT_STORE, DATA_SOURCE],
      useFactory: (store: EventStore<PierEvent>, db: DataSource) =>
        new ProjectionRunner(store, db, projection(store.subjects), logger, {
          metrics: registry,
          batchSize: 256,
        }),
    });
    return {
      module: SchedulerModule,
      controllers: [OpsController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: SCHEDULER_LOGGER, useValue: logger },
        { provide: METRICS_REGISTRY, useValue: registry },
        { provide: SCHEDULER_SETTINGS, useValue: { baseDomain: config.PIER_BASE_DOMAIN } },
        { provide: World, useValue: new World() },
        {
          provide: NATS,
          useFactory: () => connectNats({ url: config.PIER_NATS_URL, name: 'pier-scheduler' }),
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
                schema: config.PIER_DATABASE_SCHEMA ?? 'scheduler',
                entities: [],
                migrations: schedulerMigrations,
                applicationName: 'pier-scheduler',
              }),
            ),
        },
        // Every instance brings about five runtime events; applied one transaction each, the read
        // model fell behind at some 60 instances a second. Both projections apply in batches.
        { provide: APPS_PROJECTION, ...runtimeRunner(appsProjection) },
        { provide: INSTANCES_PROJECTION, ...runtimeRunner(instancesProjection) },
        // Commands change apps: they wait for the apps projection only, never behind instance events.
        { provide: READ_MODEL_SYNC, useExisting: APPS_PROJECTION },
        {
          provide: READ_MODEL,
          inject: [DATA_SOURCE],
          useFactory: (db: DataSource) => new RuntimeReadModel(db),
        },
        {
          provide: QUOTA_GATE,
          inject: [DATA_SOURCE],
          useFactory: (db: DataSource) => new SpaceLockQuotaGate(db, config.PIER_PREFIX),
        },
        {
          provide: TENANCY,
          inject: [NATS],
          useFactory: (nc: NatsConnection) =>
            new AuthTenancy(new RpcClient(nc, subjectsFor(config.PIER_PREFIX))),
        },
        {
          provide: READINESS_CHECKS,
          inject: [NATS, DATA_SOURCE],
          useFactory: (nc: NatsConnection, db: DataSource): ReadinessCheck[] => [
            { name: 'nats', check: async () => void (await nc.flush()) },
            { name: 'postgres', check: async () => void (await db.query('SELECT 1')) },
          ],
        },
        AppsHandler,
        SchedulerLifecycle,
      ],
    };
  }
}
