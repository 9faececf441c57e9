import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Checkpoints of projections: the last event position applied to the read model, per projection, and
 * the creation time of the stream those positions belong to.
 */
export class ProjectionCheckpoints1764000000000 implements MigrationInterface {
  name = 'ProjectionCheckpoints1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE projection_checkpoints (
      name text PRIMARY KEY,
      position bigint NOT NULL DEFAULT 0,
      stream_created text,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE projection_checkpoints');
  }
}
