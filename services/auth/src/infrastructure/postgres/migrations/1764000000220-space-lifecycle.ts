import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * A space being deleted (`deleting`), and the stream position of the `SpaceCreated` that began the
 * current space of a name: its audit log starts there, so a space created under a deleted space's name
 * never reads the records of the old one. Rows stored before this migration start at 0.
 */
export class SpaceLifecycle1764000000220 implements MigrationInterface {
  name = 'SpaceLifecycle1764000000220';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE spaces ADD COLUMN deleting boolean NOT NULL DEFAULT false');
    await q.query('ALTER TABLE spaces ADD COLUMN created_position bigint NOT NULL DEFAULT 0');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE spaces DROP COLUMN created_position, DROP COLUMN deleting');
  }
}
