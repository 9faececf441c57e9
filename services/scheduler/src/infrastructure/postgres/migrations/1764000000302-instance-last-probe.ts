import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Instances' last probe result: the probe run carried by the latest readiness/health transition
 * (`InstanceReady`, `InstanceNotReady`, `InstanceExited`). Null for instances whose transitions never
 * carried one, including every one stored before agents reported it.
 */
export class InstanceLastProbe1764000000302 implements MigrationInterface {
  name = 'InstanceLastProbe1764000000302';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'ALTER TABLE instances ADD COLUMN probe_kind text, ADD COLUMN probe_ok boolean, ADD COLUMN probe_detail text, ADD COLUMN probe_at timestamptz',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      'ALTER TABLE instances DROP COLUMN probe_kind, DROP COLUMN probe_ok, DROP COLUMN probe_detail, DROP COLUMN probe_at',
    );
  }
}
