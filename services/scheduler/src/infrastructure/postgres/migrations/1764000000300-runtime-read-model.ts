import { type MigrationInterface, type QueryRunner } from 'typeorm';

export class RuntimeReadModel1764000000300 implements MigrationInterface {
  name = 'RuntimeReadModel1764000000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE apps (
      space text NOT NULL, name text NOT NULL, cluster_id uuid NOT NULL, state text NOT NULL, default_domain text NOT NULL,
      domains jsonb NOT NULL, weights jsonb NOT NULL, created_at timestamptz NOT NULL, PRIMARY KEY (space, name))`);
    await q.query(`CREATE TABLE versions (
      space text NOT NULL, app text NOT NULL, version integer NOT NULL, label text, image text NOT NULL, spec jsonb NOT NULL,
      desired integer NOT NULL, deleted boolean NOT NULL, created_at timestamptz NOT NULL, PRIMARY KEY (space, app, version))`);
    await q.query(`CREATE TABLE instances (
      id uuid PRIMARY KEY, space text NOT NULL, app text NOT NULL, version integer NOT NULL, node_id uuid, phase text NOT NULL,
      host text, host_ports jsonb NOT NULL, restarts integer NOT NULL, started_at timestamptz, reason text, code text,
      stop_requested boolean NOT NULL, updated_at timestamptz NOT NULL)`);
    await q.query('CREATE INDEX instances_app ON instances (space, app)');
    await q.query(`CREATE TABLE app_events (
      position bigint PRIMARY KEY, space text NOT NULL, app text NOT NULL, at timestamptz NOT NULL, type text NOT NULL,
      actor jsonb NOT NULL, instance_id uuid, version integer, summary text NOT NULL)`);
    await q.query('CREATE INDEX app_events_app ON app_events (space, app, position DESC)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE app_events, instances, versions, apps');
  }
}
