import { DataSource, type DataSourceOptions } from 'typeorm';

export interface ServiceDataSourceOptions {
  readonly url: string;
  /** The service's own Postgres schema; every table of the service lives in it. */
  readonly schema: string;
  readonly entities: NonNullable<DataSourceOptions['entities']>;
  readonly migrations: NonNullable<DataSourceOptions['migrations']>;
  readonly applicationName: string;
  readonly poolSize?: number;
}

/**
 * A TypeORM data source confined to one schema: the connection's `search_path` is the schema, so
 * migrations write unqualified names. The schema is never synchronised from entities; only migrations
 * change it.
 */
export function createServiceDataSource(options: ServiceDataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    schema: options.schema,
    applicationName: options.applicationName,
    entities: options.entities,
    migrations: options.migrations,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: { options: `-c search_path=${options.schema}`, max: options.poolSize ?? 10 },
  });
}

/** Connects, creates the schema if needed and applies pending migrations. */
export async function openDataSource(dataSource: DataSource): Promise<DataSource> {
  await dataSource.initialize();
  const schema = (dataSource.options as { schema?: string }).schema;
  if (schema) await dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await dataSource.runMigrations({ transaction: 'each' });
  return dataSource;
}
