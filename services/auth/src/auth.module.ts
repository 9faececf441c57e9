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
  API_TOKEN,
  NODE_ASSIGNMENT,
  type PierEvent,
  pierEvents,
  SECRET,
  SESSION,
  SPACE,
  subjectsFor,
  USER,
  USER_EMAIL,
} from '@pier/contracts';
import { EventSourcedRepository, EventStore } from '@pier/eventstore';
import { connectNats, RpcClient, RpcServer } from '@pier/messaging';
import { METRICS_REGISTRY, OpsController, READINESS_CHECKS, type ReadinessCheck } from '@pier/nest';
import { createMetricsRegistry, type Logger, type Registry } from '@pier/observability';
import { createServiceDataSource, KeyedLock, openDataSource, ProjectionRunner } from '@pier/persistence';
import { type DataSource } from 'typeorm';
import { ApiTokensHandler } from './application/api-tokens/api-tokens.handler';
import { endsAuthorizations } from './application/authorize/tenancy-changes';
import { AuthorizeHandler } from './application/authorize/authorize.handler';
import {
  ACCESS_TOKENS,
  API_TOKENS,
  AUTH_LOGGER,
  AUTH_SETTINGS,
  EMAILS,
  EXCLUSIVE,
  LOGIN_THROTTLE,
  NODE_AUTHENTICATOR,
  NODE_SECRET_USE,
  PASSWORD_HASHER,
  PASSWORD_STRENGTH,
  READ_MODEL,
  READ_MODEL_SYNC,
  SECRET_CIPHER,
  SECRETS,
  SESSIONS,
  SPACE_APPS,
  SPACE_SETTINGS,
  SPACES,
  USERS,
} from './application/ports';
import { TenancyQueries } from './application/queries/tenancy.queries';
import { SecretsHandler } from './application/secrets/secrets.handler';
import { SessionsHandler } from './application/sessions/sessions.handler';
import { SpaceDeletions } from './application/spaces/space-deletions';
import { SpacesHandler } from './application/spaces/spaces.handler';
import { UsersHandler } from './application/users/users.handler';
import { type AuthConfig } from './config';
import { evolveApiToken } from './domain/api-token/api-token.state';
import { evolveNodeSecretUse } from './domain/secret/node-secret-use';
import { evolveSecret } from './domain/secret/secret.state';
import { SecretCipher } from './domain/secrets/secret-cipher';
import { evolveSession } from './domain/session/session.state';
import { evolveSpace } from './domain/space/space.state';
import { evolveUser } from './domain/user/user.state';
import { Hs256AccessTokens } from './infrastructure/crypto/hs256.access-tokens';
import { ScryptPasswordHasher } from './infrastructure/crypto/scrypt.password-hasher';
import { ClustersNodeAuthenticator } from './infrastructure/nats/clusters.node-authenticator';
import { SchedulerSpaceApps } from './infrastructure/nats/scheduler.space-apps';
import { PostgresLoginThrottle } from './infrastructure/postgres/login-throttle';
import { authMigrations } from './infrastructure/postgres/migrations';
import { auditProjection } from './infrastructure/postgres/audit-log.projection';
import { tenancyProjection } from './infrastructure/postgres/tenancy.projection';
import { PostgresTenancyReadModel } from './infrastructure/postgres/tenancy.read-model';
import { ZxcvbnPasswordStrength } from './infrastructure/zxcvbn/zxcvbn.password-strength';
import { registerAuthEndpoints } from './interface/nats/auth.rpc-endpoints';

const CONFIG = Symbol('AuthConfig');
const NATS = Symbol('Nats');
const EVENT_STORE = Symbol('EventStore');
const DATA_SOURCE = Symbol('DataSource');
const TENANCY_PROJECTION = Symbol('TenancyProjection');
/**
 * Events applied in one transaction at most: what arrives while one is applied forms the next (one
 * event under a light load). Two audit records per write made the audit log's one-transaction-per-event
 * projection the busiest part of the write path.
 */
const PROJECTION_BATCH = 128;
const AUDIT_PROJECTION = Symbol('AuditProjection');

/** Starts projections, the first admin and the RPC surface; stops them in reverse order. */
@Injectable()
class AuthLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private rpc?: RpcServer;

  constructor(
    @Inject(CONFIG) private readonly config: AuthConfig,
    @Inject(AUTH_LOGGER) private readonly logger: Logger,
    @Inject(NATS) private readonly nats: NatsConnection,
    @Inject(DATA_SOURCE) private readonly db: DataSource,
    @Inject(TENANCY_PROJECTION) private readonly tenancy: ProjectionRunner<PierEvent>,
    @Inject(AUDIT_PROJECTION) private readonly audit: ProjectionRunner<PierEvent>,
    @Inject(METRICS_REGISTRY) private readonly metrics: Registry,
    readonly authorize: AuthorizeHandler,
    readonly sessions: SessionsHandler,
    readonly users: UsersHandler,
    readonly apiTokens: ApiTokensHandler,
    readonly spaces: SpacesHandler,
    readonly secrets: SecretsHandler,
    readonly queries: TenancyQueries,
    private readonly deletions: SpaceDeletions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.tenancy.start();
    await this.audit.start();
    if (this.config.PIER_ADMIN_EMAIL && this.config.PIER_ADMIN_PASSWORD) {
      const outcome = await this.users.ensureAdmin(
        this.config.PIER_ADMIN_EMAIL,
        this.config.PIER_ADMIN_PASSWORD,
      );
      this.logger.info({ email: this.config.PIER_ADMIN_EMAIL, outcome }, 'first platform admin');
    }
    this.rpc = new RpcServer(
      this.nats,
      subjectsFor(this.config.PIER_PREFIX),
      'auth',
      this.logger,
      this.metrics,
    );
    registerAuthEndpoints(this.rpc, this);
    this.deletions.start(this.config.PIER_SPACE_DELETION_INTERVAL_MS);
    this.logger.info({ prefix: this.config.PIER_PREFIX }, 'auth service started');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.deletions.stop();
    await this.rpc?.close();
    await this.audit.stop();
    await this.tenancy.stop();
    await this.nats.drain().catch(() => undefined);
    await this.db.destroy().catch(() => undefined);
  }
}

/** The auth service: users, sessions, API tokens, spaces, members, quotas, secrets and the audit log. */
@Module({})
export class AuthModule {
  static forRoot(config: AuthConfig, logger: Logger): DynamicModule {
    const registry = createMetricsRegistry('auth');
    const repository = <S, E extends PierEvent>(type: string, evolve: (s: S | null, e: E) => S | null) => ({
      inject: [EVENT_STORE],
      useFactory: (store: EventStore<PierEvent>) =>
        new EventSourcedRepository<S, E, PierEvent>(store, type, evolve),
    });
    return {
      module: AuthModule,
      controllers: [OpsController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: AUTH_LOGGER, useValue: logger },
        { provide: METRICS_REGISTRY, useValue: registry },
        { provide: NATS, useFactory: () => connectNats({ url: config.PIER_NATS_URL, name: 'pier-auth' }) },
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
                schema: config.PIER_DATABASE_SCHEMA ?? 'auth',
                entities: [],
                migrations: authMigrations,
                applicationName: 'pier-auth',
              }),
            ),
        },
        {
          provide: TENANCY_PROJECTION,
          inject: [EVENT_STORE, DATA_SOURCE, NATS],
          useFactory: (store: EventStore<PierEvent>, db: DataSource, nc: NatsConnection) =>
            new ProjectionRunner(store, db, tenancyProjection(store.subjects), logger, {
              metrics: registry,
              batchSize: PROJECTION_BATCH,
              // Before the command that waited for this change answers, on the connection it answers on.
              onCommitted: (events) => {
                if (endsAuthorizations(events)) nc.publish(store.subjects.tenancyChanged);
              },
            }),
        },
        {
          provide: AUDIT_PROJECTION,
          inject: [EVENT_STORE, DATA_SOURCE],
          useFactory: (store: EventStore<PierEvent>, db: DataSource) =>
            new ProjectionRunner(store, db, auditProjection(store.subjects), logger, {
              metrics: registry,
              batchSize: PROJECTION_BATCH,
            }),
        },
        { provide: READ_MODEL_SYNC, useExisting: TENANCY_PROJECTION },
        { provide: USERS, ...repository(USER, evolveUser) },
        {
          provide: EMAILS,
          ...repository<string, Extract<PierEvent, { type: 'UserEmailReserved' }>>(
            USER_EMAIL,
            (_s, e) => e.data.userId,
          ),
        },
        { provide: SESSIONS, ...repository(SESSION, evolveSession) },
        { provide: API_TOKENS, ...repository(API_TOKEN, evolveApiToken) },
        { provide: SPACES, ...repository(SPACE, evolveSpace) },
        { provide: SECRETS, ...repository(SECRET, evolveSecret) },
        {
          provide: NODE_SECRET_USE,
          inject: [EVENT_STORE],
          // Kept folded per node: an assignment subject grows with every instance the node ever ran.
          useFactory: (store: EventStore<PierEvent>) =>
            new EventSourcedRepository(store, NODE_ASSIGNMENT, evolveNodeSecretUse, { cacheSize: 10_000 }),
        },
        {
          provide: READ_MODEL,
          inject: [DATA_SOURCE],
          useFactory: (db: DataSource) => new PostgresTenancyReadModel(db),
        },
        {
          provide: LOGIN_THROTTLE,
          inject: [DATA_SOURCE],
          useFactory: (db: DataSource) =>
            new PostgresLoginThrottle(db, {
              freeFailures: config.PIER_LOGIN_FREE_FAILURES,
              baseDelaySeconds: config.PIER_LOGIN_DELAY_BASE_S,
              maxDelaySeconds: config.PIER_LOGIN_DELAY_MAX_S,
              pairMemorySeconds: config.PIER_LOGIN_PAIR_MEMORY_S,
              addressMaxFailures: config.PIER_LOGIN_ADDRESS_MAX_FAILURES,
              addressWindowSeconds: config.PIER_LOGIN_ADDRESS_WINDOW_S,
            }),
        },
        { provide: PASSWORD_HASHER, useValue: new ScryptPasswordHasher() },
        { provide: PASSWORD_STRENGTH, useValue: new ZxcvbnPasswordStrength() },
        {
          provide: ACCESS_TOKENS,
          useValue: new Hs256AccessTokens(
            Buffer.from(config.PIER_JWT_SECRET),
            config.PIER_ACCESS_TOKEN_TTL_S,
          ),
        },
        {
          provide: SECRET_CIPHER,
          useFactory: () =>
            new SecretCipher({
              current: SecretCipher.parseKey(config.PIER_SECRETS_KEY),
              previous: config.PIER_SECRETS_PREVIOUS_KEYS.split(',')
                .map((k) => k.trim())
                .filter(Boolean)
                .map((k) => SecretCipher.parseKey(k)),
            }),
        },
        {
          provide: NODE_AUTHENTICATOR,
          inject: [NATS],
          useFactory: (nc: NatsConnection) =>
            new ClustersNodeAuthenticator(new RpcClient(nc, subjectsFor(config.PIER_PREFIX))),
        },
        {
          provide: AUTH_SETTINGS,
          useValue: {
            refreshTokenTtlSeconds: config.PIER_REFRESH_TOKEN_TTL_S,
            sessionMaxLifetimeSeconds: config.PIER_SESSION_MAX_LIFETIME_S,
            apiTokenMaxLifetimeSeconds: config.PIER_API_TOKEN_MAX_LIFETIME_S,
            internalToken: config.PIER_INTERNAL_TOKEN,
          },
        },
        {
          provide: SPACE_SETTINGS,
          useValue: {
            defaultQuota: {
              maxApps: config.PIER_DEFAULT_MAX_APPS,
              maxInstances: config.PIER_DEFAULT_MAX_INSTANCES,
              maxCpuMillicores: config.PIER_DEFAULT_MAX_CPU_MILLICORES,
              maxMemoryMiB: config.PIER_DEFAULT_MAX_MEMORY_MIB,
            },
            maxOwnedSpaces: config.PIER_MAX_OWNED_SPACES,
          },
        },
        {
          provide: SPACE_APPS,
          inject: [NATS],
          useFactory: (nc: NatsConnection) =>
            new SchedulerSpaceApps(new RpcClient(nc, subjectsFor(config.PIER_PREFIX))),
        },
        {
          provide: EXCLUSIVE,
          inject: [DATA_SOURCE],
          useFactory: (db: DataSource) => new KeyedLock(db, config.PIER_PREFIX),
        },
        {
          provide: READINESS_CHECKS,
          inject: [NATS, DATA_SOURCE],
          useFactory: (nc: NatsConnection, db: DataSource): ReadinessCheck[] => [
            { name: 'nats', check: async () => void (await nc.flush()) },
            { name: 'postgres', check: async () => void (await db.query('SELECT 1')) },
          ],
        },
        AuthorizeHandler,
        SessionsHandler,
        UsersHandler,
        ApiTokensHandler,
        SpacesHandler,
        SpaceDeletions,
        SecretsHandler,
        TenancyQueries,
        AuthLifecycle,
      ],
    };
  }
}
