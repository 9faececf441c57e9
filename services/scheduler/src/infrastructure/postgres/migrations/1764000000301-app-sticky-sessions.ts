import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** Apps' sticky-session setting (`AppStickySessionsSet`); every app stored before it had them off. */
export class AppStickySessions1764000000301 implements MigrationInterface {
  name = 'AppStickySessions1764000000301';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE apps ADD COLUMN sticky_sessions boolean NOT NULL DEFAULT false');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE apps DROP COLUMN sticky_sessions');
  }
}
