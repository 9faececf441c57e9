import { type PierEvent, pierEvents, type Subjects, subjectsFor } from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { connectNats } from '@pier/messaging';
import { type Logger } from '@pier/observability';
import { createServiceDataSource, openDataSource, type ServiceDataSourceOptions } from './data-source';
import { type Projection, ProjectionRunner } from './projection-runner';

/**
 * Events a rebuild applies per transaction. Batch mode reads through an ordered consumer of the
 * rebuild's own: the running service's durable consumer of the same name is never shared, so a rebuild
 * into another schema cannot take events from the service (both would pull from one durable consumer,
 * and each would see only part of the stream).
 */
const REBUILD_BATCH_SIZE = 256;

/** What `rebuild-projections` needs to know of a service. */
export interface RebuildProjectionsOptions {
  /** The service's name; the rebuild's NATS and Postgres connections are `pier-<service>-rebuild`. */
  readonly service: string;
  readonly natsUrl: string;
  readonly prefix: string;
  /** As the service opens the event store: opening it brings the stream's settings up to date. */
  readonly streamReplicas: number;
  readonly database: Omit<ServiceDataSourceOptions, 'applicationName' | 'poolSize'>;
  /** Every projection that writes the service's read model: all of them are rebuilt. */
  readonly projections: (subjects: Subjects) => readonly Projection<PierEvent>[];
  readonly logger: Logger;
  /** How long the replay may take until it has caught up with the stream. */
  readonly timeoutMs?: number;
}

/**
 * `rebuild-projections` of a service: empties its read model in `database.schema` (migrated first, so a
 * fresh schema works too) and replays the event stream into it, returning once every projection has
 * caught up with the stream as it was once the replay had begun.
 *
 * A running service whose projections use durable consumers loses its consumer here (`rebuild` deletes
 * the consumer of the projection's name); it recreates it from its own checkpoint within a second.
 */
export async function rebuildProjections(options: RebuildProjectionsOptions): Promise<void> {
  const name = `pier-${options.service}-rebuild`;
  const nc = await connectNats({ url: options.natsUrl, name });
  const store = await EventStore.open<PierEvent>(nc, subjectsFor(options.prefix), pierEvents, {
    replicas: options.streamReplicas,
  });
  const db = await openDataSource(createServiceDataSource({ ...options.database, applicationName: name }));
  const runners = options
    .projections(store.subjects)
    .map((p) => new ProjectionRunner(store, db, p, options.logger, { batchSize: REBUILD_BATCH_SIZE }));
  for (const runner of runners) await runner.rebuild();
  for (const runner of runners) await runner.waitUntilCaughtUp(options.timeoutMs ?? 600_000);
  for (const runner of runners) {
    await runner.stop();
    options.logger.info(
      { projection: runner.name, position: await runner.position() },
      `${options.service} read model rebuilt`,
    );
  }
  await nc.drain();
  await db.destroy();
}

/** The settings a service's configuration holds for its event stream and read model. */
export interface ReadModelConfig {
  readonly PIER_NATS_URL: string;
  readonly PIER_PREFIX: string;
  readonly PIER_STREAM_REPLICAS: number;
  readonly PIER_DATABASE_URL: string;
  readonly PIER_DATABASE_SCHEMA?: string | undefined;
}

/**
 * `rebuildProjections` from a service's configuration: its read model lives in `PIER_DATABASE_SCHEMA`,
 * by default the schema named after the service.
 */
export function rebuildReadModel(
  service: string,
  config: ReadModelConfig,
  model: Pick<RebuildProjectionsOptions, 'projections'> &
    Pick<RebuildProjectionsOptions['database'], 'entities' | 'migrations'>,
  logger: Logger,
): Promise<void> {
  return rebuildProjections({
    service,
    natsUrl: config.PIER_NATS_URL,
    prefix: config.PIER_PREFIX,
    streamReplicas: config.PIER_STREAM_REPLICAS,
    database: {
      url: config.PIER_DATABASE_URL,
      schema: config.PIER_DATABASE_SCHEMA ?? service,
      entities: model.entities,
      migrations: model.migrations,
    },
    projections: model.projections,
    logger,
  });
}
