import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The runtime read model becomes two projections (see `runtime.projection.ts`): `runtime-instances`
 * carries on from the old `runtime-read-model` checkpoint, and `runtime-apps` rebuilds apps, versions
 * and the feed lines of app events from the stream, starting empty.
 */
export class SplitRuntimeProjection1764000000303 implements MigrationInterface {
  name = 'SplitRuntimeProjection1764000000303';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `UPDATE projection_checkpoints SET name = 'runtime-instances' WHERE name = 'runtime-read-model'`,
    );
    await q.query(`DELETE FROM projection_checkpoints WHERE name = 'runtime-apps'`);
    await q.query('TRUNCATE apps, versions');
    await q.query('DELETE FROM app_events WHERE instance_id IS NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    // One projection again, rebuilt from the stream.
    await q.query(
      `DELETE FROM projection_checkpoints WHERE name IN ('runtime-apps', 'runtime-instances', 'runtime-read-model')`,
    );
    await q.query('TRUNCATE apps, versions, instances, app_events');
  }
}
